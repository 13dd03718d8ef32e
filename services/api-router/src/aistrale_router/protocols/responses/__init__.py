"""OpenAI's Responses API (`POST /v1/responses`), served over the chat-completions path:
request.py parses it into a chat request, answer.py and stream.py translate the answer
back, store.py keeps responses for `previous_response_id`, GET and DELETE."""
