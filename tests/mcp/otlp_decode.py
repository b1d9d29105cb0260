"""Decodes OTLP/HTTP trace export bodies (protobuf ExportTraceServiceRequest)
with the official opentelemetry-proto package, independently of Warden's
encoder, and prints one JSON object per span.

Usage: tests/mcp/.venv/bin/python tests/mcp/otlp_decode.py BODY.bin...
"""

import json
import sys

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)


def value(v):
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def main(paths):
    for path in paths:
        request = ExportTraceServiceRequest()
        with open(path, "rb") as f:
            request.ParseFromString(f.read())
        for rs in request.resource_spans:
            resource = {a.key: value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    print(
                        json.dumps(
                            {
                                "resource": resource,
                                "scope": ss.scope.name,
                                "trace_id": s.trace_id.hex(),
                                "span_id": s.span_id.hex(),
                                "parent_span_id": s.parent_span_id.hex(),
                                "name": s.name,
                                "kind": s.kind,
                                "start": s.start_time_unix_nano,
                                "end": s.end_time_unix_nano,
                                "status": s.status.code,
                                "attributes": {a.key: value(a.value) for a in s.attributes},
                            }
                        )
                    )


if __name__ == "__main__":
    main(sys.argv[1:])
