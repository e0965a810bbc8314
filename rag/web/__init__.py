"""What the web serves besides the page itself: the HTTP API and OpenAI route (http_api) and the
upload rules both share (uploads)."""
