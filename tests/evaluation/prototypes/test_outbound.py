"""The outbound guards, as plain functions against a real loopback server: the allow-list,
private addresses, pinning to the checked address, timeouts, size caps and redirects."""

import pytest

from evaluation.prototypes.outbound import HostRule, OutboundError, check_target, post_json

LOOPBACK = {"127.0.0.1": HostRule("127.0.0.1", allow_private=True)}


def _post(url, rules=LOOPBACK, **kwargs):
    options = {"timeout": 2, "max_bytes": 100_000, **kwargs}
    return post_json(url, {"a": 1}, rules=rules, **options)


def test_it_posts_json_and_reads_the_answer(model_server):
    response = _post(model_server + "/echo", headers={"Authorization": "Bearer s3cret"})
    assert response.status == 200
    assert response.json() == {"received": {"a": 1}, "authorization": "Bearer s3cret"}
    assert response.elapsed_ms > 0


def test_a_host_off_the_allow_list_is_refused(model_server):
    with pytest.raises(OutboundError, match="not on this organization's allow-list"):
        _post(model_server + "/echo", rules={})


def test_a_loopback_address_is_refused_unless_allowed(model_server):
    rules = {"127.0.0.1": HostRule("127.0.0.1", allow_private=False)}
    with pytest.raises(OutboundError, match="private, loopback or link-local"):
        _post(model_server + "/echo", rules=rules)


@pytest.mark.parametrize(
    "address", ["10.1.2.3", "192.168.0.5", "169.254.169.254", "::1", "fd00::1", "::ffff:127.0.0.1"]
)
def test_a_name_resolving_to_any_private_address_is_refused(address):
    rules = {"models.example.com": HostRule("models.example.com")}

    def resolver(host, port):
        return ["93.184.216.34", address]  # one public, one private: still refused

    with pytest.raises(OutboundError, match="private, loopback or link-local"):
        check_target("https://models.example.com/invocations", rules=rules, resolver=resolver)


def test_a_public_address_passes_the_check():
    rules = {"models.example.com": HostRule("models.example.com")}
    target = check_target(
        "https://Models.Example.com:8443/x", rules=rules, resolver=lambda h, p: ["93.184.216.34"]
    )
    assert target == ("https", 8443, "models.example.com", "93.184.216.34")


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(model_server):
    """The name `model.internal` exists only in the checked resolution: the call reaches the
    server because the connection is pinned to the address that was checked."""
    port = model_server.rsplit(":", 1)[1]
    rules = {"model.internal": HostRule("model.internal", allow_private=True)}
    response = _post(
        f"http://model.internal:{port}/echo", rules=rules, resolver=lambda h, p: ["127.0.0.1"]
    )
    assert response.json()["received"] == {"a": 1}


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "http://user:pw@127.0.0.1/x"]
)
def test_other_schemes_and_credentials_in_the_url_are_refused(url):
    with pytest.raises(OutboundError):
        check_target(url, rules=LOOPBACK)


def test_a_slow_server_times_out_with_a_clear_message(model_server):
    with pytest.raises(OutboundError, match=r"did not answer within 1 seconds"):
        _post(model_server + "/slow", timeout=1)


def test_a_huge_answer_is_refused_by_its_length(model_server):
    with pytest.raises(OutboundError, match="larger than 100000 bytes"):
        _post(model_server + "/huge")


def test_a_huge_answer_without_a_length_is_cut_while_streaming(model_server):
    with pytest.raises(OutboundError, match="larger than 100000 bytes"):
        _post(model_server + "/huge-chunked")


def test_a_redirect_to_another_host_is_not_followed(model_server):
    with pytest.raises(OutboundError, match="redirect \\(302\\) to another host"):
        _post(model_server + "/redirect-other")


def test_a_redirect_on_the_same_host_is_not_followed_either(model_server):
    with pytest.raises(OutboundError, match="Redirects are not followed"):
        _post(model_server + "/redirect-same")


def test_an_error_status_says_what_the_server_answered(model_server):
    with pytest.raises(OutboundError, match="answered 500.*model crashed"):
        _post(model_server + "/fail")


def test_an_unreachable_port_says_so():
    with pytest.raises(OutboundError, match="could not be reached"):
        _post("http://127.0.0.1:9/echo")
