"""A local S3-compatible server for the tests: moto's ThreadedMotoServer on 127.0.0.1, at a port the
OS picks, plus a plain botocore client to look into its buckets from outside the gateway.

    with s3_server() as s3:
        bucket = s3.new_bucket()
        config = {"files": {"s3": s3.files_config(bucket, prefix="t/")}}
        s3.client.head_object(Bucket=bucket, Key="t/file-…")

Credentials are fixed test values; nothing but 127.0.0.1 is ever reached: the gateway's client is
built with explicit credentials and endpoint, and instance-metadata lookups are switched off.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.session
import pytest
from moto.server import ThreadedMotoServer

ACCESS_KEY_ID = "AKIDTESTFILES0000000"
SECRET_ACCESS_KEY = "test-secret-do-not-log-0123456789abcdef"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    client: Any  # botocore's S3 client (sync), for checks from outside the gateway

    def new_bucket(self) -> str:
        name = f"llmrelay-{uuid.uuid4().hex[:16]}"
        self.client.create_bucket(Bucket=name)
        return name

    def files_config(self, bucket: str, **extra: Any) -> dict[str, Any]:
        """The gateway's `files.s3` section for `bucket` on this server."""
        return {
            "bucket": bucket,
            "endpoint_url": self.endpoint_url,
            "region": REGION,
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": SECRET_ACCESS_KEY,
            **extra,
        }

    def keys(self, bucket: str) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listed.get("Contents", ()))

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except self.client.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
                return False
            raise
        return True

    def uploads_in_progress(self, bucket: str) -> int:
        return len(self.client.list_multipart_uploads(Bucket=bucket).get("Uploads", ()))


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")  # belt and braces: no 169.254.169.254, ever
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            env.delenv(name, raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            session = botocore.session.Session()
            session.set_config_variable("config_file", os.devnull)
            session.set_config_variable("credentials_file", os.devnull)
            client = session.create_client(
                "s3",
                region_name=REGION,
                endpoint_url=endpoint,
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
            )
            try:
                yield S3Server(endpoint, client)
            finally:
                client.close()
        finally:
            server.stop()
