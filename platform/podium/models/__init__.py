"""Model and dataset repositories: hosted as spaces' are (a bare git repository each, large files in the
LFS store) and answering the Hub's calls for `repo_type="model"` and `"dataset"`, but never built or run."""
