"""Uploads FILE to a tus ENDPOINT in CHUNK-byte PATCHes with tuspy (the
benchmark's Python peer). Exit 0 once the upload succeeded."""
import sys

from tusclient import client

file, endpoint, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
# Metadata given: without it tuspy sends an empty Upload-Metadata header,
# which @tus/server refuses (400).
uploader = client.TusClient(endpoint).uploader(
    file, chunk_size=chunk, metadata={"filename": "source.bin"}
)
uploader.upload()
