"""The rules a file an agent sends must pass, and how it is kept."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from routing import outbound_files


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_a_png_is_an_image_and_a_fake_png_goes_as_a_file(media):
    real, fake = outbound_files.keep(
        [
            SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20),
            SimpleUploadedFile("b.png", b"not a picture at all"),
        ]
    )
    assert (real.kind, real.content_type) == ("image", "image/png")
    assert (fake.kind, fake.content_type) == ("file", "application/octet-stream")
    assert (media / real.path).read_bytes().startswith(b"\x89PNG")
    assert real.path.startswith("attachments/sent/")


def test_the_name_loses_any_folder_and_the_hash_names_the_content():
    [kept] = outbound_files.keep([SimpleUploadedFile("C:\\Users\\ann\\report.pdf", b"%PDF")])
    assert kept.name == "report.pdf"
    assert kept.kind == "file"
    assert kept.sha256 == hashlib.sha256(b"%PDF").hexdigest()


def test_together_the_files_may_not_pass_the_limit_and_nothing_is_kept(media, settings):
    settings.FACEBOOK_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(outbound_files.FileRefused, match="together") as refused:
        outbound_files.keep(
            [SimpleUploadedFile("a.txt", b"123456"), SimpleUploadedFile("b.txt", b"123456")]
        )
    assert refused.value.too_large
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_too_many_files_and_empty_files_are_refused():
    with pytest.raises(outbound_files.FileRefused, match="at most 10"):
        outbound_files.check([SimpleUploadedFile(f"{n}.txt", b"x") for n in range(11)])
    with pytest.raises(outbound_files.FileRefused, match="empty"):
        outbound_files.check([SimpleUploadedFile("blank.txt", b"")])
