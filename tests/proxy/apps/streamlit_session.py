"""One Streamlit browser session over a WebSocket, as the page's JavaScript runs it; prints JSON.

Runs with the apps' own Python, which has Streamlit's protobuf classes:
    python streamlit_session.py WS_URL QUERY [--origin O] [--connect HOST:PORT]
"""

import argparse
import asyncio
import json

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


async def session(url: str, query: str, origin: str | None, connect: str | None) -> dict:
    where = {}
    if connect:  # reach a host-mode name that does not resolve, as a browser would via *.localhost
        host, port = connect.rsplit(":", 1)
        where = {"host": host, "port": int(port)}
    try:
        ws = await websockets.connect(url, subprotocols=["streamlit", "placeholder-xsrf"], origin=origin, **where)
    except websockets.InvalidStatus as error:
        return {"rejected": error.response.status_code}
    messages, texts = [], []
    async with ws:
        rerun = BackMsg()
        rerun.rerun_script.query_string = query
        await ws.send(rerun.SerializeToString())
        while not messages or messages[-1] != "script_finished":
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(ws.recv(), 30))
            kind = message.WhichOneof("type")
            messages.append(kind)
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                body = getattr(getattr(element, element.WhichOneof("type")), "body", None)
                if body:
                    texts.append(body)
        return {"subprotocol": ws.subprotocol, "messages": messages, "texts": texts}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("query")
    parser.add_argument("--origin")
    parser.add_argument("--connect")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(session(args.url, args.query, args.origin, args.connect))))
