"""A client that speaks to an OpenRosa server exactly as ODK Collect does, for tests.

What it copies, from getodk/collect (open-rosa and collect_app modules):

- every request carries ``User-Agent`` (``org.odk.collect.android/<version> <http.agent>``,
  AndroidUserAgent), ``X-OpenRosa-Version: 1.0`` and ``Date`` in Collect's own format
  ``E, dd MMM yyyy hh:mm:ss zz`` in GMT (OkHttpOpenRosaServerClientProvider);
  form list, manifest, form and media GETs and the submission URL get ``deviceID`` as a
  query parameter (OpenRosaXmlFetcher.fetch, OpenRosaServerInstanceUploader);
- a 401 is answered with the configured username and password when the challenge names
  a scheme Collect has: Digest always, Basic only on https URLs (the
  DispatchingAuthenticator built there); once accepted, the credentials are sent with
  every later request to that host (AuthenticationCacheInterceptor). Digest is not
  implemented here: fieldapp never offers it;
- the form list and manifest must be 200, ``text/xml`` and carry ``X-OpenRosa-Version``
  (OkHttpConnection.executeGetRequest, HttpGetResult.isOpenRosaResponse), and are read as
  Kxml2OpenRosaResponseParser reads them (namespaces checked, ``md5:`` hashes, a list
  entry without formID, name or downloadUrl makes the whole list unreadable);
- a submission is a HEAD to ``<server>/submission`` that must answer 204 (its
  ``X-OpenRosa-Accept-Content-Length`` sets the split size; 10,000,000 without it), then
  one or more multipart POSTs: part ``xml_submission_file`` (the instance file's name,
  ``text/xml``), then each other file of the instance folder as a part named and
  file-named as the file, split before a file that would pass the accepted length or
  after 100 files, with a ``*isIncomplete*`` = ``yes`` part on every POST but the last;
  the upload stops at the first answer that is not 201 or 202
  (OkHttpConnection.uploadSubmissionAndFiles, OpenRosaServerInstanceUploader);
- settings come from a QR code whose text is zlib-compressed, base64-encoded JSON with
  ``general`` and ``admin`` objects (CompressionUtils, SettingsImporter,
  client-settings.schema.json).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import mimetypes
import ssl
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree as ET

USER_AGENT = "org.odk.collect.android/v2025.3.0 Dalvik/2.1.0 (Linux; U; Android 13; SM-A135F)"
DEFAULT_CONTENT_LENGTH = 10_000_000
LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"


class CollectError(Exception):
    """What Collect would show as a failure (the server's message when it sent one)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def message(self) -> str | None:
        """The OpenRosa ``<message>`` text, as Collect's ResponseMessageParser reads it."""
        try:
            root = ET.fromstring(self.body)
        except ET.ParseError:
            return None
        node = root.find(f"{{{RESPONSE_NS}}}message")
        return node.text if node is not None else None


@dataclass
class FormListItem:
    """An entry of the form list (Collect's FormListItem)."""

    form_id: str
    name: str
    version: str | None
    hash: str | None  # without "md5:"
    download_url: str
    manifest_url: str | None


@dataclass
class MediaFile:
    """An entry of a manifest (Collect's MediaFile)."""

    filename: str
    hash: str
    download_url: str


@dataclass
class Sent:
    """The requests Collect made for one submission, and their answers."""

    head: Reply
    posts: list[tuple[list[str], bool, Reply]] = field(default_factory=list)  # files, incomplete


def collect_date(now: datetime | None = None) -> str:
    """``Date`` as Collect writes it: SimpleDateFormat("E, dd MMM yyyy hh:mm:ss zz")."""
    return (now or datetime.now(UTC)).strftime("%a, %d %b %Y %I:%M:%S GMT")


def settings_from_qr(text: str) -> dict:
    """Collect's reading of a settings QR code: base64, zlib, JSON with ``general`` and
    ``admin`` objects (the schema's required keys)."""
    settings = json.loads(zlib.decompress(base64.b64decode(text)).decode("utf-8"))
    if not isinstance(settings.get("general"), dict) or not isinstance(settings.get("admin"), dict):
        raise CollectError("Invalid settings: general and admin are required")
    return settings


class CollectClient:
    """One Collect project: a server URL and, optionally, a username and password."""

    def __init__(
        self,
        server_url: str,
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        device_id: str = "collect:T3stDev1ce0001",
    ):
        self.server_url = server_url.rstrip("/")
        self.username, self.password = username, password
        self.ssl_context = ssl_context
        self.device_id = device_id
        self.auth_cache: dict[str, str] = {}  # host -> Authorization header
        self.log: list[tuple[str, str, int]] = []  # (method, path, status) of every request

    @classmethod
    def from_qr(cls, text: str, ssl_context: ssl.SSLContext | None = None) -> CollectClient:
        """A project configured by scanning a settings QR code."""
        general = settings_from_qr(text)["general"]
        return cls(
            general["server_url"],
            general.get("username") or None,
            general.get("password") or None,
            ssl_context,
        )

    # -- HTTP ----------------------------------------------------------------------

    def request(
        self, method: str, url: str, body: bytes | None = None, headers: dict | None = None
    ) -> Reply:
        """One request as OkHttpOpenRosaServerClient makes it, answering a 401 challenge
        with the project's credentials where Collect would."""
        parts = urlsplit(url)
        reply = self._send(method, url, body, headers, self.auth_cache.get(parts.netloc))
        if reply.status == 401 and self.username and self.password:
            schemes = {
                c.strip().split(" ", 1)[0].lower()
                for c in reply.headers.get("www-authenticate", "").split(",")
                if c.strip() and "=" not in c.strip().split(" ", 1)[0]
            }
            if "basic" in schemes and parts.scheme == "https":
                creds = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
                auth = f"Basic {creds}"
                if auth != self.auth_cache.get(parts.netloc):  # no loop on a refusal
                    reply = self._send(method, url, body, headers, auth)
                    if reply.status != 401:
                        self.auth_cache[parts.netloc] = auth
        return reply

    def _send(self, method, url, body, headers, auth) -> Reply:
        parts = urlsplit(url)
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.netloc, context=self.ssl_context, timeout=30)
        else:
            conn = http.client.HTTPConnection(parts.netloc, timeout=30)
        sent = {
            "User-Agent": USER_AGENT,
            "X-OpenRosa-Version": "1.0",
            "Date": collect_date(),
            "Accept-Encoding": "gzip",
            **(headers or {}),
        }
        if auth:
            sent["Authorization"] = auth
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            data = resp.read()
            if resp.getheader("Content-Encoding") == "gzip":
                import gzip

                data = gzip.decompress(data)
            reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            conn.close()
        self.log.append((method, parts.path, reply.status))
        return reply

    def _with_device(self, url: str) -> str:
        return url + ("&" if "?" in url else "?") + urlencode({"deviceID": self.device_id})

    def _get_xml(self, url: str) -> ET.Element:
        reply = self.request("GET", self._with_device(url))
        if reply.status != 200:
            raise CollectError(f"getXML failed with status code: {reply.status}", reply.status)
        if "text/xml" not in reply.headers.get("content-type", "").lower():
            raise CollectError("ContentType is not text/xml", reply.status)
        if "x-openrosa-version" not in reply.headers:
            raise CollectError("Server is not an OpenRosa server", reply.status)
        return ET.fromstring(reply.body)

    # -- forms ---------------------------------------------------------------------

    def form_list(self) -> list[FormListItem]:
        """``<server>/formList``, parsed as Kxml2OpenRosaResponseParser.parseFormList."""
        root = self._get_xml(self.server_url + "/formList")
        if root.tag != f"{{{LIST_NS}}}xforms":
            raise CollectError("Parse error: not an OpenRosa form list")
        items = []
        for xform in root:
            if xform.tag.lower() != f"{{{LIST_NS}}}xform".lower():
                continue
            got = {child.tag.split("}")[1]: (child.text or "").strip() for child in xform}
            if not got.get("formID") or not got.get("name") or not got.get("downloadUrl"):
                raise CollectError("Parse error: a form without formID, name or downloadUrl")
            raw_hash = got.get("hash") or ""
            items.append(
                FormListItem(
                    got["formID"],
                    got["name"],
                    got.get("version") or None,
                    raw_hash[4:] if raw_hash.startswith("md5:") else None,
                    got["downloadUrl"],
                    got.get("manifestUrl") or None,
                )
            )
        return items

    def manifest(self, url: str) -> list[MediaFile]:
        """A manifest, parsed as Kxml2OpenRosaResponseParser.parseManifest."""
        root = self._get_xml(url)
        if root.tag != f"{{{MANIFEST_NS}}}manifest":
            raise CollectError("Parse error: not an OpenRosa manifest")
        files = []
        for media in root.findall(f"{{{MANIFEST_NS}}}mediaFile"):
            got = {child.tag.split("}")[1]: (child.text or "").strip() for child in media}
            if not got.get("filename") or not got.get("downloadUrl") or not got.get("hash"):
                raise CollectError("Parse error: a media file without filename, hash or URL")
            name = got["filename"].replace("\\", "/").rsplit("/", 1)[-1]
            files.append(MediaFile(name, got["hash"][len("md5:") :], got["downloadUrl"]))
        return files

    def download(self, item: FormListItem) -> tuple[bytes, dict[str, bytes]]:
        """Download a form and its media, checking each against the MD5 the server
        listed, as Collect's form download does; (XForm bytes, {filename: bytes})."""
        reply = self.request("GET", self._with_device(item.download_url))
        if reply.status != 200:
            raise CollectError(f"form download failed: {reply.status}", reply.status)
        if item.hash and hashlib.md5(reply.body).hexdigest() != item.hash:
            raise CollectError("form hash does not match the form list")
        media: dict[str, bytes] = {}
        for m in self.manifest(item.manifest_url) if item.manifest_url else []:
            got = self.request("GET", self._with_device(m.download_url))
            if got.status != 200:
                raise CollectError(f"media download failed: {got.status}", got.status)
            if hashlib.md5(got.body).hexdigest() != m.hash:
                raise CollectError(f"media hash of {m.filename} does not match the manifest")
            media[m.filename] = got.body
        return reply.body, media

    # -- submissions ---------------------------------------------------------------

    def submit(
        self, xml: bytes, files: dict[str, bytes] | None = None, instance_name: str = ""
    ) -> Sent:
        """Send one finalized instance: ``xml`` is the instance file, ``files`` every
        other file in its folder (Collect sends them all). Raises ``CollectError`` with
        the server's message when Collect would report a failure."""
        url = self._with_device(self.server_url + "/submission")
        head = self.request("HEAD", url)
        sent = Sent(head)
        if head.status == 401:
            raise CollectError("Server requires authentication", 401)
        if 200 <= head.status < 300 and head.status != 204:
            raise CollectError(f"Is this an OpenRosa submission endpoint? {head.status}")
        limit = DEFAULT_CONTENT_LENGTH
        if head.status == 204 and "x-openrosa-accept-content-length" in head.headers:
            limit = int(head.headers["x-openrosa-accept-content-length"])
        name = instance_name or f"instance_{uuid.uuid4().hex[:8]}.xml"
        names = sorted(files or {})  # File.listFiles order is unspecified
        content = files or {}
        index, first = 0, True
        while index < len(names) or first:
            last, first = index, False
            byte_count = len(xml)
            parts: list[tuple[str, str | None, str | None, bytes]] = [
                ("xml_submission_file", name, "text/xml", xml)
            ]
            incomplete = False
            while index < len(names):
                fname = names[index]
                ctype = mimetypes.guess_type(fname)[0] or "application/octet-stream"
                parts.append((fname, fname, ctype, content[fname]))
                byte_count += len(content[fname])
                if index + 1 < len(names) and (
                    index - last + 1 > 100 or byte_count + len(content[names[index + 1]]) > limit
                ):
                    parts.append(("*isIncomplete*", None, None, b"yes"))
                    incomplete = True
                    index += 1
                    break
                index += 1
            body, ctype = multipart(parts)
            reply = self.request("POST", url, body, {"Content-Type": ctype})
            sent.posts.append(([p[0] for p in parts[1:] if p[1]], incomplete, reply))
            if reply.status not in (201, 202):
                raise CollectError(
                    reply.message or f"Error: {reply.status}", reply.status
                ) from None
        return sent


def multipart(parts: list[tuple[str, str | None, str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body as OkHttp's MultipartBody writes it: each part with
    Content-Disposition, Content-Type (files) and Content-Length; (body, content type)."""
    boundary = str(uuid.uuid4())
    out = bytearray()
    for name, filename, ctype, data in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += f"Content-Length: {len(data)}\r\n\r\n".encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"
