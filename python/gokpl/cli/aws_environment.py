"""The AWS setup as the SDK's default chain will find it: the region, and where credentials come from.

Read from the config, the environment and the shared files (~/.aws/config
and ~/.aws/credentials), and through botocore when it is installed. Never
a secret: access key ids are masked. Functions only.
"""

from __future__ import annotations

import configparser
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._config import Config


def resolve_region(config: Config, origins: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The region the engine will use, and where it comes from: config, environment, then the profile."""
    if config.region:
        return config.region, origins.get("region", "config")
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(var):
            return environ[var], f"environment {var}"
    profile = environ.get("AWS_PROFILE") or "default"
    path = _aws_file(environ, "AWS_CONFIG_FILE", "config")
    section = _profile_section(path, profile, config_file=True)
    if section is not None and section.get("region"):
        return section["region"], f"config file {path}, profile {profile}"
    return None, "not set"


def mask_key(key: str) -> str:
    """An access key id with only its first and last 4 characters (all masked when short)."""
    return f"{key[:4]}…{key[-4:]}" if len(key) >= 16 else "…" * 3


def describe_credentials(config: Config, origins: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str, bool]:
    """Where the credentials come from, and whether any were found.

    Keys in the config win; otherwise botocore's resolution (the same chain
    as the engine's SDK: environment, profiles, SSO, web identity, container,
    instance metadata) when botocore is installed, else an inspection of the
    environment and the shared files.
    """
    if config.aws_access_key_id:
        origin = origins.get("aws_access_key_id", "config")
        return f"explicit in config (aws_access_key_id={mask_key(config.aws_access_key_id)}, {origin})", True
    try:
        session_module = importlib.import_module("botocore.session")
    except ImportError:
        return _credentials_without_botocore(environ)
    return _credentials_with_botocore(session_module, environ)


_BOTOCORE_METHODS = {
    "env": "environment",
    "shared-credentials-file": "shared credentials file",
    "config-file": "config file",
    "sso": "SSO",
    "assume-role": "assume role",
    "assume-role-with-web-identity": "web identity token",
    "custom-process": "credential_process",
    "container-role": "container credentials endpoint",
    "iam-role": "EC2 instance metadata (instance profile)",
}


def _credentials_with_botocore(session_module: Any, environ: Mapping[str, str]) -> tuple[str, bool]:
    try:
        credentials = session_module.Session().get_credentials()
    except Exception as exc:  # a broken profile, an expired SSO token, ...
        return f"error resolving credentials: {exc}", False
    if credentials is None:
        return "none found (environment, profiles, container and instance metadata all tried)", False
    method = str(credentials.method)
    text = _BOTOCORE_METHODS.get(method, method)
    profile = environ.get("AWS_PROFILE") or "default"
    if method == "env":
        return f"{text} (AWS_ACCESS_KEY_ID={mask_key(credentials.access_key)})", True
    if method in ("shared-credentials-file", "config-file"):
        return f"{text}, profile {profile} (aws_access_key_id={mask_key(credentials.access_key)})", True
    if method in ("sso", "assume-role", "custom-process"):
        return f"{text}, profile {profile}", True
    return text, True


def _credentials_without_botocore(environ: Mapping[str, str]) -> tuple[str, bool]:
    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return f"environment (AWS_ACCESS_KEY_ID={mask_key(environ['AWS_ACCESS_KEY_ID'])})", True
    if environ.get("AWS_WEB_IDENTITY_TOKEN_FILE") and environ.get("AWS_ROLE_ARN"):
        return "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)", True
    profile = environ.get("AWS_PROFILE") or "default"
    found = _profile_credentials(environ, profile)
    if found is not None:
        return found, True
    if environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return "container credentials endpoint", True
    return "not in the environment or profile files; the AWS SDK will try EC2 instance metadata", True


def _profile_credentials(environ: Mapping[str, str], profile: str) -> str | None:
    """The profile's kind of credentials in the shared credentials or config file, if it has any."""
    path = _aws_file(environ, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
    section = _profile_section(path, profile, config_file=False)
    if section is not None and section.get("aws_access_key_id"):
        return f"shared credentials file {path}, profile {profile} ({mask_key(section['aws_access_key_id'])})"
    path = _aws_file(environ, "AWS_CONFIG_FILE", "config")
    section = _profile_section(path, profile, config_file=True)
    if section is None:
        return None
    for key, kind in (
        ("aws_access_key_id", "keys"),
        ("role_arn", "assume role"),
        ("sso_session", "SSO"),
        ("sso_start_url", "SSO"),
        ("credential_process", "credential_process"),
    ):
        if section.get(key):
            return f"config file {path}, profile {profile} ({kind})"
    return None


def _aws_file(environ: Mapping[str, str], var: str, name: str) -> Path:
    return Path(environ.get(var) or Path.home() / ".aws" / name).expanduser()


def _profile_section(path: Path, profile: str, config_file: bool) -> Mapping[str, str] | None:
    """A profile's settings from a shared AWS file ([profile NAME] in the config file, except default)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    name = f"profile {profile}" if config_file and profile != "default" else profile
    return dict(parser[name]) if parser.has_section(name) else None
