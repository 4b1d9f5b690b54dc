"""Fake upstream servers: small strict ASGI apps served on 127.0.0.1:0 for tests."""
