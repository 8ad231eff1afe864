#!/usr/bin/env python3
"""Talks to a running suqiu's Open311 GeoReport v2 endpoint with the PyPI
clients `georeport` and `boston311`, and prints what they read back as JSON
(checked by crates/cli/tests/open311_clients.rs).

    open311_clients.py BASE_URL API_KEY JURISDICTION_ID

BASE_URL is the endpoint (`http://127.0.0.1:PORT/open311/v2`); API_KEY an API
token with scope open311. Neither client implements POST requests, so the
requests are filed with `requests` (a dependency of both), as a form with
api_key, as GeoReport v2 says; everything is read back with the clients.
"""

import datetime
import json
import sys

import boston311
import boston311.api
import georeport
import requests
from pydantic import ValidationError


def as_list(x):
    """xmltodict gives a dict for one element and a list for several."""
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def validation_fields(e):
    """The fields pydantic refused, without list indexes."""
    return sorted({
        ".".join(str(p) for p in err["loc"] if not isinstance(p, int) and p != "service_requests")
        for err in e.errors()
    })


def main():
    base, key, jurisdiction = sys.argv[1], sys.argv[2], sys.argv[3]
    out = {}

    g = georeport.GeoReport(base, jurisdiction=jurisdiction, api_key=key)
    gx = georeport.GeoReport(base, jurisdiction=jurisdiction, api_key=key, output_format="xml")

    # services and a service definition, JSON and XML
    out["georeport_services"] = [s["service_code"] for s in g.get_service_list()]
    out["georeport_services_xml"] = [s["service_code"] for s in gx.get_service_list()]
    out["georeport_service_names"] = [s["service_name"] for s in g.get_service_list()]
    d = g.get_service_definition("infrastructure")
    out["georeport_definition"] = {
        "service_code": d["service_code"],
        "attributes": [a["code"] for a in d["attributes"]],
        "required": [a["code"] for a in d["attributes"] if a["required"]],
        "places": [v["key"] for v in d["attributes"][0]["values"]],
    }
    dx = gx.get_service_definition("infrastructure")
    attrs = as_list(dx["attributes"]["attribute"])
    out["georeport_definition_xml"] = {
        "service_code": dx["service_code"],
        "attributes": [a["code"] for a in attrs],
        "places": [v["key"] for v in as_list(attrs[0]["values"]["value"])],
    }

    # file two requests (JSON and XML answers)
    form = {
        "api_key": key,
        "jurisdiction_id": jurisdiction,
        "service_code": "infrastructure",
        "attribute[place]": "430799001002-01",
        "address_string": "幸福路12号",
        "description": "幸福路口的路灯坏了一个星期，晚上很黑。",
        "first_name": "小明",
        "last_name": "王",
        "phone": "13912345678",
        "lat": "28.228209",
        "long": "112.938814",
    }
    r = requests.post(f"{base}/requests.json", data=form, timeout=30)
    out["post_status"] = r.status_code
    posted = r.json()[0]
    out["posted"] = posted
    rid = posted["service_request_id"]

    form_xml = dict(form, service_code="environment", description="河边有人倾倒垃圾")
    rx = requests.post(f"{base}/requests.xml", data=form_xml, timeout=30)
    out["post_xml_status"] = rx.status_code
    out["post_xml_content_type"] = rx.headers.get("content-type")
    rid_xml = rx.text.split("<service_request_id>")[1].split("</service_request_id>")[0]
    out["posted_xml_id"] = rid_xml

    # refused: no key, in the requested format
    bad = requests.post(f"{base}/requests.json", data=dict(form, api_key="sqt_wrong"), timeout=30)
    out["bad_key"] = {"status": bad.status_code, "body": bad.json()}

    # read back with georeport
    out["georeport_request"] = g.get_service_request(rid)
    out["georeport_request_xml"] = gx.get_service_request(rid)
    now = datetime.datetime.now(datetime.timezone.utc)
    start = (now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = g.get_service_requests(
        service_code="infrastructure", status="open", start_date=start, end_date=end
    )
    out["georeport_list"] = [x["service_request_id"] for x in listed]
    out["georeport_list_all"] = [x["service_request_id"] for x in g.get_service_requests()]
    out["georeport_list_xml"] = [
        x["service_request_id"] for x in as_list(gx.get_service_requests(status="open,closed"))
    ]
    out["georeport_list_closed"] = [x["service_request_id"] for x in g.get_service_requests(status="closed")]
    out["georeport_by_ids"] = [
        x["service_request_id"] for x in g.get_service_requests(service_request_id=f"{rid},{rid_xml}")
    ]
    try:
        g.get_service_request("999999")
        out["georeport_missing"] = "found"
    except requests.HTTPError as e:
        out["georeport_missing"] = e.response.status_code

    # boston311: its endpoint is a module constant
    boston311.api.BOSTON_API_ENDPOINT = base + "/"
    services = boston311.get_services()
    out["boston311_services"] = [s.service_code for s in services.services]
    out["boston311_service_name"] = services.get_service_name("petition")
    out["boston311_groups"] = sorted({s.group for s in services.services})
    # boston311's ServiceRequest requires lat and long (floats): the requests
    # were filed with coordinates, which suqiu stores and returns.
    try:
        sr = boston311.get_service_request(rid)
        out["boston311_request"] = sr.model_dump(mode="json")
    except ValidationError as e:
        out["boston311_request_error"] = validation_fields(e)
    try:
        srs = boston311.get_service_requests(
            service_code="infrastructure",
            start_date=now - datetime.timedelta(days=1),
            # boston311 truncates to the second: a default end (now) may fall
            # before a request filed within the same second
            end_date=now + datetime.timedelta(minutes=5),
            status=boston311.api.Status.OPEN,
        )
        out["boston311_list"] = [x.service_request_id for x in srs.service_requests]
    except ValidationError as e:
        out["boston311_list_error"] = validation_fields(e)
    out["boston311_list_closed"] = [
        x.service_request_id
        for x in boston311.get_service_requests(status=boston311.api.Status.CLOSED).service_requests
    ]

    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
