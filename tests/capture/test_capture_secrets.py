"""Secret detection and masking."""

from __future__ import annotations

import pytest

from labtrack.capture.secrets import (
    clean_remote_url,
    is_secret_name,
    mask,
    mask_argv,
    scrub,
    secret_values,
    strip_url_credentials,
)


@pytest.mark.parametrize(
    "name",
    [
        "MY_API_TOKEN", "HF_TOKEN", "LABTRACK_API_KEY", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD",
        "--password", "--api-key", "db.passwd", "GITHUB_AUTH", "PRIVATE_KEY_PATH",
        "apikey", "OPENAI_APIKEY", "GOOGLE_APPLICATION_CREDENTIALS", "SENTRY_DSN",
    ],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "PYTHONHASHSEED", "PWD", "--lr",
        "--epochs", "HF_HOME", "TORCH_HOME", "LABTRACK_PROJECT",
    ],
)  # fmt: skip
def test_harmless_names(name: str) -> None:
    assert not is_secret_name(name)


def test_mask() -> None:
    assert mask("hunter2") == "***"
    assert mask("") == ""
    assert mask(None) == ""


def test_mask_argv() -> None:
    argv = [
        "train.py", "--lr", "0.1", "--api-key", "k-123", "--password=pw1",
        "db.password=pw2", "--token", "--verbose", "https://u:pw3@host/x", "--seed=1",
    ]  # fmt: skip
    masked = mask_argv(argv)
    assert masked == [
        "train.py", "--lr", "0.1", "--api-key", "***", "--password=***",
        "db.password=***", "--token", "--verbose", "https://host/x", "--seed=1",
    ]  # fmt: skip
    for secret in ("k-123", "pw1", "pw2", "pw3"):
        assert secret not in " ".join(masked)


def test_url_credentials() -> None:
    assert strip_url_credentials("https://user:tok@host/x") == "https://host/x"
    assert strip_url_credentials("pull https://tok@h.io/a and ssh://me:pw@b/c") == (
        "pull https://h.io/a and ssh://b/c"
    )
    assert strip_url_credentials("git@github.com:org/x.git") == "git@github.com:org/x.git"
    assert strip_url_credentials("no url here") == "no url here"
    assert clean_remote_url(" https://x:y@gitlab.com/a/b.git?private_token=zzz#f ") == (
        "https://gitlab.com/a/b.git"
    )


def test_secret_values_and_scrub(tmp_path) -> None:
    cred_file = tmp_path / "creds.json"
    cred_file.write_text("{}")
    env = {
        "MY_TOKEN": "abcdef123456",
        "SHORT_KEY": "1",
        "HOME": "/root",
        "GOOGLE_APPLICATION_CREDENTIALS": str(cred_file),
    }
    secrets = secret_values(env)
    assert secrets == {"abcdef123456"}
    data = {"argv": ["x", "abcdef123456"], "nested": {"k": ("pre-abcdef123456-post", 3)}}
    assert scrub(data, secrets) == {"argv": ["x", "***"], "nested": {"k": ["pre-***-post", 3]}}
