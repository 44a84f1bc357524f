"""A multipart upload's form, read within the upload limits, with a gate before its first file.

`request.form()` reads the whole form before a route sees any field, so a form checked for its
CSRF token afterwards has had its files read already, however forged. Here the fields read so far
go to `before_files` as the first file part begins: /new checks the token there (the page's form
and podium.js send it first), and a forged form is refused before a byte of its files is read.
Text fields stay small (`MAX_FIELD_BYTES`, `MAX_FIELDS`); the body as a whole is held to
`max_upload_size` while it streams in (podium.body_limits), with or without a `Content-Length`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

from starlette.datastructures import FormData, Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from podium.body_limits import allow_upload
from podium.errors import ApiError
from podium.settings import Limits
from podium.uploads import too_large

MAX_FIELD_BYTES = 64 * 1024  # a field that is not a file: a name, a summary, a token
MAX_FIELDS = 100

BeforeFiles = Callable[[FormData], None]


def upload_too_large(space_id: str, limits: Limits) -> ApiError:
    return ApiError(413, f"{space_id}: {too_large('the upload', 'max_upload_size', limits.max_upload_size)}")


class _GatedParser(MultiPartParser):
    """Starlette's own multipart parser, with a hook where a part's headers end and its data begins."""

    def __init__(
        self, headers: Headers, stream: AsyncGenerator[bytes, None], max_files: int, before_files: BeforeFiles | None
    ) -> None:
        super().__init__(headers, stream, max_files=max_files, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES)
        self._before_files = before_files

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        if self._current_part.file is not None and self._before_files is not None:
            gate, self._before_files = self._before_files, None
            gate(FormData(self.items))


async def read_upload_form(
    request: Request, space_id: str, limits: Limits, before_files: BeforeFiles | None = None
) -> FormData:
    """The form of a multipart upload to `space_id`, refused with 413 as soon as it is known to pass
    `max_upload_size`. `before_files` may refuse it (by raising) before any file is read."""
    allow_upload(request, limits.max_upload_size, upload_too_large(space_id, limits))
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(
            400,
            f"{space_id}: an upload is a multipart/form-data form; got "
            f"{request.headers.get('content-type') or 'no Content-Type'}",
        )
    parser = _GatedParser(request.headers, request.stream(), limits.max_archive_entries, before_files)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise ApiError(
            400,
            f"{space_id}: the upload is not a readable multipart form ({exc.message}); "
            f"fields other than files hold at most {MAX_FIELD_BYTES // 1024} KiB",
        ) from None
