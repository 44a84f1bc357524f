"""A space's life: the stage machine (`supervisor`), one deploy's steps (`deploys`), the build queue,
the watcher of exits and idle spaces, recovery after a restart, and the builds/runs history."""
