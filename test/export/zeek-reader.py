# An independent reader of Zeek's ASCII (TSV) logs, written from Zeek's documentation of its ASCII
# writer (base/frameworks/logging/writers/ascii.zeek) and the header it writes: the separator from
# the first line (`#separator \x09`), the other meta lines split by it, rows split by Python's csv
# module with no quoting, `\xHH` escapes undone to bytes, the unset and empty markers honoured,
# values typed by #types. Prints {"meta": {...}, "rows": [{field: value}]} as JSON.
# With the argument `unescape`: reads a JSON list of escaped strings and prints them unescaped.
import csv
import ipaddress
import json
import re
import sys

ESCAPE = re.compile(rb'\\x([0-9a-fA-F]{2})')


def unescape(text):
    raw = text.encode('ascii')  # a Zeek log escapes every byte that is not printable ASCII
    return ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw).decode('utf-8')


def typed(kind, value, meta):
    if value == meta['unset_field']:
        return None
    if kind in ('string', 'enum'):
        return '' if value == meta['empty_field'] else unescape(value)
    if kind.startswith('set[') or kind.startswith('vector['):
        return [] if value == meta['empty_field'] else [unescape(v) for v in value.split(meta['set_separator'])]
    if kind in ('time', 'interval', 'double'):
        return float(value)
    if kind in ('count', 'int', 'port'):
        return int(value)
    if kind == 'addr':
        return str(ipaddress.ip_address(value))
    if kind == 'bool':
        assert value in ('T', 'F'), value
        return value == 'T'
    raise ValueError(f'unknown Zeek type {kind}')


def read(text):
    lines = text.split('\n')
    assert lines[0].startswith('#separator '), lines[0]
    sep = unescape(lines[0][len('#separator '):])
    meta = {'separator': sep, 'order': ['separator']}
    body = []
    for line in lines[1:]:
        if line.startswith('#'):
            key, _, value = line[1:].partition(sep)
            meta['order'].append(key)
            meta[key] = value
        elif line:
            body.append(line)
    fields = meta['fields'].split(sep)
    types = meta['types'].split(sep)
    rows = []
    for cells in csv.reader(body, delimiter=sep, quoting=csv.QUOTE_NONE):
        assert len(cells) == len(fields), cells
        rows.append({f: typed(t, v, meta) for f, t, v in zip(fields, types, cells)})
    return {'meta': meta, 'rows': rows}


if len(sys.argv) > 1 and sys.argv[1] == 'unescape':
    print(json.dumps([unescape(s) for s in json.load(sys.stdin)]))
else:
    print(json.dumps(read(sys.stdin.read())))
