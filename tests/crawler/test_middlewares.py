import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler

from crawler.config import SiteConfig
from crawler.middlewares import PrivateRedirectGuard, non_public_address


class FakeSpider:
    site = SiteConfig(key="s", name="S", region="R", level="department", family="generic", list_urls=("http://127.0.0.1:8765/",))


def guard():
    return PrivateRedirectGuard(get_crawler())


@pytest.mark.parametrize(
    "host, expected",
    [
        ("127.0.0.1", "127.0.0.1"),
        ("10.1.2.3", "10.1.2.3"),
        ("192.168.0.1", "192.168.0.1"),
        ("169.254.169.254", "169.254.169.254"),
        ("[::1]", "::1"),
        ("8.8.8.8", None),
    ],
)
def test_non_public_address_literals(host, expected):
    assert non_public_address(host) == expected


def test_names_are_resolved_with_the_given_resolver():
    def resolve(host, port):
        return [(2, 1, 6, "", ("10.0.0.5", 0))]

    assert non_public_address("intranet.example", resolve=resolve) == "10.0.0.5"

    def fails(host, port):
        raise OSError("no such host")

    assert non_public_address("nowhere.invalid", resolve=fails) is None


def test_redirect_into_private_address_is_refused():
    request = Request("http://169.254.169.254/latest/meta-data/", meta={"redirect_times": 1})
    with pytest.raises(IgnoreRequest, match="redirect into non-public address 169.254.169.254"):
        guard().process_request(request, FakeSpider())


def test_first_requests_and_the_sites_own_hosts_pass():
    assert guard().process_request(Request("http://10.0.0.1/"), FakeSpider()) is None
    own = Request("http://127.0.0.1:8765/moved.html", meta={"redirect_times": 1})
    assert guard().process_request(own, FakeSpider()) is None
