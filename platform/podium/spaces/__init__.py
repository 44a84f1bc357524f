"""What can be done to a space, as plain functions of Podium's `Context`: create, delete, restart,
pause, change hardware and sleep time (lifecycle), commit and upload files (files), set and delete
variables and secrets (variables). The API's routes (podium.api) and the pages' forms (podium.web)
both call them, after checking in their own way that the caller may; a refusal is a
podium.errors.ApiError, which the API answers in Hugging Face's shape and a page shows in words."""
