"""S3 default encryption (SSE-S3) on every bucket, as AWS has applied it since January 2023.

AWS: "By default, all buckets have a default encryption configuration that uses server-side
encryption with Amazon S3 managed keys (SSE-S3)" (S3 API reference, GetBucketEncryption and
PutBucketEncryption), and DeleteBucketEncryption "resets the default encryption for the bucket as
server-side encryption with Amazon S3 managed keys (SSE-S3)". So GetBucketEncryption on a new
bucket answers ``AES256`` with ``BucketKeyEnabled`` false, and new objects are stored encrypted.

moto 5.2.5 creates buckets with no encryption configuration (GetBucketEncryption answers
ServerSideEncryptionConfigurationNotFoundError) and forgets it on delete. Terraform's
``aws_s3_bucket`` reads the configuration into its state at create time: with stock moto the
state of every bucket says "no encryption", the next refresh reads the configuration the
``aws_s3_bucket_server_side_encryption_configuration`` resource put, and the drift report lists a
change made outside Terraform that AWS would never show for an SSE-S3 bucket.
Installed into the emulator process (moto_fidelity.install).
"""

from __future__ import annotations

from typing import Any


def sse_s3_default() -> dict[str, Any]:
    """The configuration S3 gives every bucket that has no other (moto's stored shape)."""
    return {
        "Rule": {
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BucketKeyEnabled": "false",
        }
    }


def install() -> None:
    """Every bucket starts with SSE-S3, and deleting its configuration puts SSE-S3 back (idempotent)."""
    from moto.s3.models import FakeBucket, S3Backend

    if getattr(FakeBucket, "_storefront_default_encryption", False):
        return
    original_init = FakeBucket.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.encryption = sse_s3_default()

    def delete_bucket_encryption(self: Any, bucket_name: str) -> None:
        self.get_bucket(bucket_name).encryption = sse_s3_default()

    FakeBucket.__init__ = init  # type: ignore[method-assign]
    S3Backend.delete_bucket_encryption = delete_bucket_encryption  # type: ignore[method-assign]
    FakeBucket._storefront_default_encryption = True  # type: ignore[attr-defined]
