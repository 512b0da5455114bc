"""The one URL masker: several hosts, +srv, query strings, special-character passwords."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tunemeld.config import Settings, load_settings, mask_url
from tunemeld.config._url import REDACTED, unencoded_userinfo, url_passwords
from tunemeld.exceptions import ConfigError

REPLICA = "mongodb://u:p4ss-w0rd@db1:27017,db2:27017/tunemeld?replicaSet=rs0"

_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_HOSTS = st.lists(
    st.tuples(_NAME, st.integers(1, 65535)).map(lambda hp: f"{hp[0]}.example:{hp[1]}"),
    min_size=1,
    max_size=3,
).map(",".join)
_QUERY = st.lists(
    st.tuples(st.sampled_from(["replicaSet", "tls", "appName", "w"]), _NAME), max_size=3
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))
_PASSWORD = st.text(min_size=1, max_size=24).filter(lambda p: p.strip() == p)


class TestExamples:
    """Each URL form the store accepts, masked as a person would expect."""

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("sqlite:///.tunemeld/x.db", "sqlite:///.tunemeld/x.db"),
            ("mongodb://h:1/db", "mongodb://h:1/db"),
            ("mongodb://u:p@h:1/db?tls=true", f"mongodb://u:{REDACTED}@h:1/db?tls=true"),
            (REPLICA, f"mongodb://u:{REDACTED}@db1:27017,db2:27017/tunemeld?replicaSet=rs0"),
            (
                "mongodb+srv://u:p@cluster.example/db",
                f"mongodb+srv://u:{REDACTED}@cluster.example/db",
            ),
            ("mongodb://u:p%40ss%2Fw@h/db", f"mongodb://u:{REDACTED}@h/db"),
            ("mongodb://u:p@ss/w?rd#x@h/db", f"mongodb://u:{REDACTED}@h/db"),
            ("mongodb://u@h/db", "mongodb://u@h/db"),
            (
                "mongodb://h/?tlsCertificateKeyFilePassword=pw1&appName=x",
                f"mongodb://h/?tlsCertificateKeyFilePassword={REDACTED}&appName=x",
            ),
            (
                "https://h/x?api_key=k1&token=t1&Password=p1&page=2#top",
                f"https://h/x?api_key={REDACTED}&token={REDACTED}&Password={REDACTED}&page=2#top",
            ),
            ("mongodb://h?password=a@b", f"mongodb://h?password={REDACTED}"),
            ("not a url", "not a url"),
            ("", ""),
        ],
    )
    def test_mask_url_hides_password_and_secret_options_only(self, url: str, expected: str) -> None:
        assert mask_url(url) == expected

    def test_url_passwords_when_encoded_gives_both_spellings(self) -> None:
        assert set(url_passwords("mongodb://u:p%40ss%2Fw0rd@h/db")) == {
            "p%40ss%2Fw0rd",
            "p@ss/w0rd",
        }

    def test_url_passwords_when_none_is_empty(self) -> None:
        assert url_passwords("mongodb://u@h:1/db") == []
        assert url_passwords("sqlite:///x.db") == []

    @pytest.mark.parametrize(
        ("url", "refused"),
        [
            ("mongodb://u:p%40ss%2F%25@h/db", False),
            ("mongodb://u:plain@h1:1,h2:2/db?replicaSet=rs0", False),
            ("mongodb://h/db?appName=a@b", False),
            ("mongodb://h:1,[::1]:2/db?appName=a@b", False),
            ("mongodb://u:p@ss@h/db", True),
            ("mongodb://u:p/ss@h/db", True),
            ("mongodb://u:p:ss@h/db", True),
            ("mongodb://u:100%@h/db", True),
            ("mongodb://u:p%4@h/db", True),
        ],
    )
    def test_unencoded_userinfo_finds_what_a_driver_would_misread(
        self, url: str, refused: bool
    ) -> None:
        assert unencoded_userinfo(url) is refused


class TestProperties:
    """For any password, as written or percent-encoded: never shown, never an exception."""

    @given(hosts=_HOSTS, password=_PASSWORD, query=_QUERY, srv=st.booleans(), encode=st.booleans())
    def test_mask_url_never_shows_the_password(
        self, hosts: str, password: str, query: str, srv: bool, encode: bool
    ) -> None:
        written = quote(password, safe="") if encode else password
        scheme = "mongodb+srv" if srv else "mongodb"
        tail = f"{hosts}/tunemeld{'?' + query if query else ''}"
        expected = f"{scheme}://app:{REDACTED}@{tail}"
        assume(password not in expected and written not in expected)

        masked = mask_url(f"{scheme}://app:{written}@{tail}")

        assert password not in masked
        assert written not in masked
        assert masked == expected

    @given(password=_PASSWORD, encode=st.booleans())
    def test_redactor_secrets_include_the_url_password(self, password: str, encode: bool) -> None:
        written = quote(password, safe="") if encode else password
        url = f"mongodb://app:{written}@db1:27017,db2:27017/tunemeld?replicaSet=rs0"

        found = url_passwords(url)

        assert password in found
        assert written in found

    @given(st.text())
    def test_mask_url_never_raises(self, text: str) -> None:
        assert isinstance(mask_url(text), str)
        assert isinstance(url_passwords(text), list)
        assert isinstance(mask_url(f"mongodb://{text}"), str)


class TestSettingsUseIt:
    """config.show's data and the redactor's list come from the same parsing."""

    def test_settings_with_replica_set_url_mask_and_redact_it(self) -> None:
        settings: Settings = load_settings(_env_file=None, database={"url": REPLICA})

        assert settings.redacted()["database"]["url"] == mask_url(REPLICA)
        assert "p4ss-w0rd" not in repr(settings.database)
        assert "p4ss-w0rd" in settings.secret_values()

    def test_settings_with_unencoded_password_refuse_it_without_showing_it(self) -> None:
        with pytest.raises(ConfigError) as caught:
            load_settings(_env_file=None, database={"url": "mongodb://u:s3cr@t/x@h:1/db"})

        assert "percent-encoded" in str(caught.value)
        assert "s3cr" not in str(caught.value)
