"""Git over HTTP for every space, as on the Hub: `git clone`/`git push` with the smart HTTP protocol
(served by git's own `git http-backend`), and the Git LFS batch API for large files.

`access` decides who may read or push (a token as the basic-auth password), `backend` runs
`git http-backend` as a CGI, `hooks` and `pre_receive` refuse a push that breaks the rules an upload
follows, `routes` ties them together and deploys a push to `main`, and `lfs_api` moves large files
in and out of the object store (podium.lfs_store).
"""
