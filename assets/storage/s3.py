"""The filesystem of ``s3://`` storage roots: s3fs, with every failure of a request an ``OSError``.

s3fs turns what S3 answers into ``OSError`` subclasses (``FileNotFoundError``,
``PermissionError``, ...), but lets botocore's own failures through as they are: no connection
to the endpoint, no credentials, a read timeout. Everything that uses a storage root catches
``OSError`` and reports it with the asset, the URI and a fix; this subclass makes those failures
``OSError`` too (``EIO``, the botocore error as its cause), so a bucket that cannot be reached
is reported like a folder that cannot be read, never as a traceback. S3's own refusals
(botocore's ``ClientError``) pass unchanged, for s3fs and :mod:`assets.storage.conditional`
to interpret.

The endpoint and credentials come from the environment as for any AWS client
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``,
or a profile). Instances are not cached by fsspec: each storage root makes its own, with the
environment of the time it is made.
"""

from __future__ import annotations

import errno
from typing import Any

import s3fs
from botocore.exceptions import BotoCoreError
from fsspec.asyn import sync_wrapper


class S3FileSystem(s3fs.S3FileSystem):
    """s3fs whose requests raise ``OSError`` for every failure (module docstring)."""

    cachable = False

    async def _call_s3(self, method: str, *akwarglist: Any, **kwargs: Any) -> Any:
        try:
            return await super()._call_s3(method, *akwarglist, **kwargs)
        except BotoCoreError as exc:
            raise OSError(errno.EIO, f"{type(exc).__name__}: {exc}") from exc

    #: The blocking twin, which s3fs's files (uploads) and conditional writes call: s3fs binds
    #: its own to the base class's ``_call_s3``, so it is bound again here.
    call_s3 = sync_wrapper(_call_s3)
