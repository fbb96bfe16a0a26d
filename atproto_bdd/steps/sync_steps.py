"""Steps that read repositories and blobs the way relays and indexers do."""

from __future__ import annotations

import os
from typing import Any

from behave import given, then, when

from ..errors import XrpcError
from .support import atproto_step, world_of


@then("the exported repo of {handle:Handle} contains {count:Count} {collection:NSID} records")
@then("the exported repo of {handle:Handle} contains {count:Count} {collection:NSID} record")
@atproto_step
def then_exported_repo_contains(context: Any, handle: str, count: int, collection: str) -> None:
    """Exports HANDLE's repository (``com.atproto.sync.getRepo``), walks its MST and counts COLLECTION records.

    Every block of the CAR is checked against its CID while parsing.
    """
    repo = world_of(context).account(handle).repo()
    records = repo.collection(collection)
    assert len(records) == count, (
        f"the exported repo of {handle} has {len(records)} {collection} records, expected {count}; "
        f"it holds: {sorted(repo.records) or 'no records'}"
    )


@then("the exported repo of {handle:Handle} has a valid commit signature")
@atproto_step
def then_exported_repo_signature_valid(context: Any, handle: str) -> None:
    """Verifies the exported commit's signature with the ``#atproto`` key of HANDLE's DID document (from PLC)."""
    world = world_of(context)
    repo = world.account(handle).repo()
    document = world.did_document(handle)
    key = document.signing_key
    assert key is not None, f"the DID document of {handle} has no #atproto key: {document.raw}"
    assert repo.commit.did == document.id, f"the commit is by {repo.commit.did}, not {document.id}"
    assert repo.verify_signature(key), (
        f"the commit {repo.car.roots[0]} (rev {repo.commit.rev}) is not signed by {handle}'s {key.algorithm} key"
    )


@given("{handle:Handle} uploads a {size:d} byte {mime:MimeType} blob")
@when("{handle:Handle} uploads a {size:d} byte {mime:MimeType} blob")
@atproto_step
def when_uploads_blob(context: Any, handle: str, size: int, mime: str) -> None:
    """Uploads SIZE random bytes as a MIME blob and references it from a record so the PDS keeps it.

    The record is a ``com.example.atprotobdd.blob`` in HANDLE's repository.
    """
    world_of(context).account(handle).upload_blob(os.urandom(size), mime)


@when("{handle:Handle} uploads a {size:d} byte {mime:MimeType} blob without using it")
@atproto_step
def when_uploads_unused_blob(context: Any, handle: str, size: int, mime: str) -> None:
    """Uploads SIZE random bytes as a MIME blob that no record refers to."""
    world_of(context).account(handle).upload_blob(os.urandom(size), mime, keep=False)


@then("the latest blob of {handle:Handle} downloads unchanged")
@atproto_step
def then_latest_blob_downloads(context: Any, handle: str) -> None:
    """Downloads HANDLE's latest blob (``com.atproto.sync.getBlob``) and compares it byte for byte."""
    account = world_of(context).account(handle)
    blob = account.latest_blob()
    data = account.get_blob(blob.cid)
    assert data == blob.data, f"blob {blob.cid} came back as {len(data)} different bytes (uploaded {blob.size})"


@then("the latest blob of {handle:Handle} cannot be downloaded")
@atproto_step
def then_latest_blob_missing(context: Any, handle: str) -> None:
    """Checks the PDS refuses to serve HANDLE's latest blob (as it does for uploads no record uses)."""
    account = world_of(context).account(handle)
    blob = account.latest_blob()
    try:
        account.get_blob(blob.cid)
    except XrpcError as error:
        assert error.status_code == 400 or error.status_code == 404, f"unexpected error {error}"
        return
    raise AssertionError(f"blob {blob.cid} of {handle} was served")
