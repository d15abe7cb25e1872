"""Small helpers shared by every layer: files, hashes, words, retries, threads and HTTP.

Imported module by module (no re-exports), so that using one never loads the
others: `httpclient` alone pulls in httpx2.
"""
