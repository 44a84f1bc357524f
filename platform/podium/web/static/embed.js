// <podium-space space="owner/name"></podium-space>: a Podium space embedded in any page.
//
// Load with <script type="module" src="https://PODIUM/static/embed.js"></script>. The element makes
// an iframe to the space (through Podium's /spaces/{owner}/{name}/embed, which sends it on to the
// space's own origin, with ?embed=true for Streamlit), shows a loading state until the app has
// loaded, and follows the app's content height. Gradio and Streamlit both ship iframe-resizer's
// child script; this speaks its parent side of the protocol over postMessage.

const podium = new URL(import.meta.url).origin;
const PREFIX = "[iFrameSizer]";
let counter = 0;

const style = `
  :host { display: block; position: relative; min-height: var(--podium-initial-height, 300px); }
  iframe { display: block; width: 100%; border: 0; height: var(--podium-initial-height, 300px);
    transition: height .15s ease; }
  .loading { position: absolute; inset: 0; display: grid; place-items: center; font: 14px system-ui, sans-serif;
    color: #62626f; background: color-mix(in srgb, currentColor 4%, transparent); border-radius: 8px; }
  .loading::before { content: ""; width: 18px; height: 18px; margin-right: 8px; border-radius: 50%;
    border: 2px solid currentColor; border-right-color: transparent; animation: spin .8s linear infinite; }
  .loading[hidden] { display: none; }
  @keyframes spin { to { transform: rotate(360deg); } }
`;

class PodiumSpace extends HTMLElement {
  static observedAttributes = ["space"];

  connectedCallback() {
    if (this.shadowRoot) return;
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = `<style>${style}</style><div class="loading" role="status">Loading space…</div>`;
    this.frameId = `podium-space-${++counter}`;
    this.onMessage = (event) => this.resize(event);
    window.addEventListener("message", this.onMessage);
    this.render();
  }

  disconnectedCallback() {
    window.removeEventListener("message", this.onMessage);
  }

  attributeChangedCallback() {
    if (this.shadowRoot) this.render();
  }

  render() {
    const space = (this.getAttribute("space") || "").trim();
    const loading = this.shadowRoot.querySelector(".loading");
    this.shadowRoot.querySelector("iframe")?.remove();
    if (!/^[^/\s]+\/[^/\s]+$/.test(space)) {
      loading.textContent = `podium-space: set space="owner/name" (got "${space}")`;
      return;
    }
    loading.hidden = false;
    const frame = document.createElement("iframe");
    frame.id = this.frameId;
    frame.title = this.getAttribute("title") || `Podium space ${space}`;
    frame.setAttribute("allow", "clipboard-read; clipboard-write; fullscreen; camera; microphone");
    frame.src = `${podium}/spaces/${space}/embed/frame`;
    frame.addEventListener("load", () => {
      loading.hidden = true;
      this.frame = frame;
      // iframe-resizer v4 init: id:bodyMargin:calculateWidth:log:interval:publicMethods:autoResize:
      // bodyMargin:heightCalculationMethod:bodyBackground:bodyPadding:tolerance:inPageLinks:
      // resizeFrom:widthCalculationMethod:mouseEvents
      const init = [this.frameId, 8, false, false, 32, true, true, null, "documentElementOffset",
        null, null, 0, false, "child", "scroll", false].join(":");
      frame.contentWindow.postMessage(PREFIX + init, "*");
    });
    this.shadowRoot.append(frame);
  }

  resize(event) {
    if (!this.frame || event.source !== this.frame.contentWindow) return;
    if (typeof event.data !== "string" || !event.data.startsWith(PREFIX)) return;
    const [id, height] = event.data.slice(PREFIX.length).split(":");
    const pixels = Number(height);
    if (id !== this.frameId || !Number.isFinite(pixels) || pixels <= 0) return;
    this.frame.style.height = `${Math.ceil(pixels)}px`;
    this.dispatchEvent(new CustomEvent("podium-resize", { detail: { height: pixels } }));
  }
}

if (!customElements.get("podium-space")) customElements.define("podium-space", PodiumSpace);
