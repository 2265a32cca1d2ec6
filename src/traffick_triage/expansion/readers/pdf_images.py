"""The images of a PDF, through pikepdf (the Python binding of qpdf).

Every image XObject is one member, each object once (by object number):
first those the pages use, page by page, through their resources, form
XObjects, annotation appearances and tiling patterns (so the name says where
it is drawn), then any image object no page uses (left over by an editor).
A JPEG (DCTDecode) or JPEG 2000 (JPXDecode) stream is given byte for byte:
its bytes are the file that was embedded, so its SHA-256 is the original's.
Any other image is decoded (pikepdf.PdfImage) and given as a PNG, with a note
that the bytes are a decode, not the embedded file.

Not read: inline images (``BI ... ID ... EI`` in a content stream, small by
the specification's advice), images inside Type 3 fonts, the soft mask or
mask an image names (/SMask, /Mask: its transparency, not a picture), files attached
to the PDF (embedded files are documents, not images)."""

from __future__ import annotations

import contextlib
import io
import re
from typing import IO, Any, Iterator

from ...perceptual.decode import DECODE_PIXEL_BUDGET
from ..api import (BudgetExceeded, ExpansionBudget, ExpansionError, Expander, Member, MemberProblem, Probe)
from ._pdf_streams import (GENERIC_FILTERS, PASSTHROUGH, decoded_bound, filters_of, int_of, pikepdf_module, raw_image,
                           read_image)

# A PDF may begin with junk; readers look for the header in the first 1024 bytes.
HEADER_WINDOW = 1024
_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")
_UNTYPED = ("application/octet-stream", "application/pdf")
# Objects swept for unused images; past this only the pages are read. The sweep
# parses every object (measured ~20 us each: 500,000 objects ~10 s).
MAX_OBJECTS = 500_000
MAX_PAGES = 100_000
MAX_IMAGES = 100_000
MAX_FORM_DEPTH = 12            # forms inside forms (a loop is stopped by the seen set too)
MAX_PARENT_DEPTH = 64          # page tree levels searched for inherited resources


def _pikepdf():
    return pikepdf_module()


def _errors() -> tuple[type[BaseException], ...]:
    """What reading a hostile PDF may raise: pikepdf's and qpdf's errors, and
    Pillow's while an image is made from decoded samples."""
    from PIL import Image
    return (_pikepdf().PikepdfError, Image.DecompressionBombError, ValueError, TypeError, AttributeError,
            KeyError, IndexError, NotImplementedError, OSError, RecursionError, MemoryError)


def _describe(objgen: tuple[int, int]) -> str:
    number, generation = objgen
    return f"obj {number}" if generation == 0 else f"obj {number} gen {generation}"


class _Found:
    """Image objects in the order they were first met, each once."""

    def __init__(self) -> None:
        self.order: list[tuple[tuple[int, int], str]] = []
        self.seen: set[tuple[int, int]] = set()
        self.visited_forms: set[tuple[int, int]] = set()


class PdfImagesExpander(Expander):
    NAME = "pdf-images"
    VERSION = "1"
    DESCRIPTION = "images embedded in a PDF (JPEG and JPEG 2000 byte for byte, others decoded to PNG)"

    @classmethod
    def library(cls) -> str:
        try:
            pikepdf = _pikepdf()
        except ImportError:
            return "pikepdf (not installed)"
        return f"pikepdf {pikepdf.__version__} (qpdf {pikepdf.__libqpdf_version__})"

    def claims(self, probe: Probe) -> bool:
        at = probe.head[:HEADER_WINDOW].find(b"%PDF-")
        if at < 0:
            return False
        if at == 0:
            return True
        # Junk before the header is allowed, but a stored ZIP or a TAR holding a PDF
        # has one near its start too, and libmagic calls a text that mentions
        # "%PDF-" a PDF: past offset 0, only content libmagic names no other type
        # of, with an object ("1 0 obj") after the header.
        return probe.mime in _UNTYPED and _OBJECT.search(probe.head, at) is not None

    # -- opening -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _open(self, container: IO[bytes]):
        pikepdf = _pikepdf()
        container.seek(0)
        try:
            # Inherited page attributes are looked up here (_inherited_resources), not
            # pushed down at opening: a looping page tree then costs the pages only,
            # and the sweep still finds the images.
            pdf = pikepdf.Pdf.open(container, password="", suppress_warnings=True, inherit_page_attributes=False)
        except pikepdf.PasswordError as error:
            raise ExpansionError("encrypted PDF: it does not open with an empty user password; "
                                 "its images are not read") from error
        except _errors() as error:
            raise ExpansionError(f"not a readable PDF: {_short(error)}") from error
        try:
            yield pdf
        finally:
            pdf.close()

    # -- listing -------------------------------------------------------------------------------

    def members(self, container: IO[bytes], budget: ExpansionBudget) -> Iterator[Member | MemberProblem]:
        walk = {"open": True}
        with self._open(container) as pdf, _closing(walk):
            found = _Found()
            problems: list[MemberProblem] = []
            for step, label in ((self._walk_pages, "page tree"), (self._sweep_objects, "objects")):
                try:
                    step(pdf, found, problems)
                except _errors() as error:
                    problems.append(MemberProblem(label, f"the PDF's structure is damaged: {_short(error)}"))
            damage = _qpdf_warnings(pdf)
            if damage:
                problems.insert(0, MemberProblem("damaged PDF", damage))
            yield from problems
            for count, (objgen, where) in enumerate(found.order):
                if count >= MAX_IMAGES:
                    yield MemberProblem("images", f"more than {MAX_IMAGES} images; the rest are not listed")
                    return
                try:
                    item = self._member(pdf.get_object(objgen), objgen, where, budget)
                except BudgetExceeded:
                    raise
                except _errors() as error:
                    item = MemberProblem(f"{where} ({_describe(objgen)})", f"unreadable image: {_short(error)}")
                if isinstance(item, Member):   # counted by the walk; its bytes charge the budget as read
                    item.opener = self._opener(pdf, walk, container, item.key, budget)
                yield item

    def _walk_pages(self, pdf, found: _Found, problems: list[MemberProblem]) -> None:
        pikepdf = _pikepdf()
        for index, page in enumerate(pdf.pages):
            if index >= MAX_PAGES:
                problems.append(MemberProblem("pages", f"more than {MAX_PAGES} pages; the rest are not read"))
                return
            where = f"page {index + 1}"
            try:
                page_obj = page.obj
                self._walk_resources(_inherited_resources(page_obj), where, found, 0)
                for annot in _as_list(page_obj.get("/Annots")):
                    if not isinstance(annot, pikepdf.Dictionary):
                        continue
                    appearance = annot.get("/AP")
                    if isinstance(appearance, pikepdf.Dictionary):
                        for state in sorted(appearance.keys()):
                            self._walk_appearance(appearance[state], f"{where} annotation", found)
            except _errors() as error:
                problems.append(MemberProblem(where, f"damaged page: {_short(error)}"))

    def _walk_appearance(self, value, where: str, found: _Found) -> None:
        pikepdf = _pikepdf()
        if isinstance(value, pikepdf.Stream):
            self._walk_form(value, where, found, 1)
        elif isinstance(value, pikepdf.Dictionary):
            for key in sorted(value.keys()):
                if isinstance(value[key], pikepdf.Stream):
                    self._walk_form(value[key], where, found, 1)

    def _walk_resources(self, resources, where: str, found: _Found, depth: int) -> None:
        pikepdf = _pikepdf()
        if not isinstance(resources, pikepdf.Dictionary):
            return
        xobjects = resources.get("/XObject")
        if isinstance(xobjects, pikepdf.Dictionary):
            for name in sorted(xobjects.keys()):
                xobject = xobjects[name]
                if not isinstance(xobject, pikepdf.Stream):
                    continue
                subtype = str(xobject.get("/Subtype", ""))
                if subtype == "/Image":
                    self._add(xobject, f"{where} image {name}", found)
                elif subtype == "/Form":
                    self._walk_form(xobject, f"{where} form {name}", found, depth + 1)
        patterns = resources.get("/Pattern")
        if isinstance(patterns, pikepdf.Dictionary):
            for name in sorted(patterns.keys()):
                pattern = patterns[name]
                if isinstance(pattern, pikepdf.Stream):   # a tiling pattern draws with its own resources
                    self._walk_form(pattern, f"{where} pattern {name}", found, depth + 1)

    def _walk_form(self, form, where: str, found: _Found, depth: int) -> None:
        if depth > MAX_FORM_DEPTH:
            return
        if form.is_indirect:
            if form.objgen in found.visited_forms:
                return   # a form drawn twice, or one that draws itself
            found.visited_forms.add(form.objgen)
        self._walk_resources(form.get("/Resources"), where, found, depth)

    @staticmethod
    def _add(image, where: str, found: _Found) -> None:
        if not image.is_indirect:
            return   # a direct stream cannot exist in a valid PDF; nothing to key it by
        objgen = tuple(image.objgen)
        if objgen not in found.seen:
            found.seen.add(objgen)
            found.order.append((objgen, where))

    def _sweep_objects(self, pdf, found: _Found, problems: list[MemberProblem]) -> None:
        """Image objects no page draws, in object-number order."""
        pikepdf = _pikepdf()
        if len(pdf.get_xref_table()) > MAX_OBJECTS:   # counted before any object is parsed
            problems.append(MemberProblem("objects", f"more than {MAX_OBJECTS} objects; "
                                                     "only images drawn on pages are listed"))
            return
        images, masks = set(), set()
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream) and str(obj.get("/Subtype", "")) == "/Image":
                images.add(tuple(obj.objgen))
                for mask_key in ("/SMask", "/Mask"):   # the transparency of an image, not a picture
                    mask = obj.get(mask_key)
                    if isinstance(mask, pikepdf.Stream) and mask.is_indirect:
                        masks.add(tuple(mask.objgen))
        for objgen in sorted(images - masks - found.seen):
            found.seen.add(objgen)
            found.order.append((objgen, "unused image"))

    def _member(self, image, objgen: tuple[int, int], where: str, budget: ExpansionBudget) -> Member | MemberProblem:
        filters = filters_of(image)
        width, height = int_of(image.get("/Width")), int_of(image.get("/Height"))
        details: dict[str, Any] = {"pdf_object": objgen[0], "pdf_generation": objgen[1],
                                   "where": where, "filters": filters, "width": width, "height": height}
        label = f"{where} ({_describe(objgen)})"
        codec = filters[-1] if filters else ""
        key = {"obj": objgen[0], "gen": objgen[1]}
        if codec in PASSTHROUGH and all(f in GENERIC_FILTERS for f in filters[:-1]):
            key["as"] = "raw"
            notes = [] if len(filters) == 1 else [f"embedded {codec[1:]} after undoing {', '.join(filters[:-1])}"]
            # The stream's real length (its /Length may lie; qpdf finds the end itself).
            size = len(raw_image(image)) if len(filters) == 1 else None
            return Member(name=label + PASSTHROUGH[codec], key=key, size=size, notes=notes, details=details)
        if width <= 0 or height <= 0:
            return MemberProblem(label, f"image with no valid size ({width} x {height})")
        if width * height > DECODE_PIXEL_BUDGET:
            return MemberProblem(label, f"{width} x {height} pixels: over the decode budget of "
                                        f"{DECODE_PIXEL_BUDGET} pixels; not decoded")
        # No ratio test: the decode is bounded by the image's own size, which a flat
        # picture compresses a thousandfold without being a bomb.
        reason = budget.member_limit(decoded_bound(image, width, height), None)
        if reason:
            return MemberProblem(label, reason)
        key["as"] = "png"
        return Member(name=label + ".png", key=key, size=None, details=details,
                      notes=["decoded from the PDF's image stream to PNG: these bytes are a decode, "
                             "not a file that was embedded"])

    # -- reading -------------------------------------------------------------------------------

    def open_member(self, container: IO[bytes], key: dict[str, Any], budget: ExpansionBudget) -> IO[bytes]:
        with self._open(container) as pdf:
            return self._image_bytes(pdf, key, budget)

    def _opener(self, pdf, walk: dict[str, bool], container: IO[bytes], key: dict[str, Any],
                budget: ExpansionBudget):
        """Reads a member from the PDF the listing holds open (opening a PDF
        again costs tens of milliseconds, per image); once the listing has
        ended, through open_member."""
        def opener() -> IO[bytes]:
            if walk["open"]:
                return self._image_bytes(pdf, key, budget)
            return self.open_member(container, key, budget)
        return opener

    def _image_bytes(self, pdf, key: dict[str, Any], budget: ExpansionBudget) -> IO[bytes]:
        pikepdf = _pikepdf()
        objgen = (int_of(key.get("obj"), -1), int_of(key.get("gen"), -1))
        try:
            image = pdf.get_object(objgen)
        except _errors() as error:
            raise ExpansionError(f"no object {objgen[0]} {objgen[1]} in the PDF: {_short(error)}") from error
        if not isinstance(image, pikepdf.Stream) or str(image.get("/Subtype", "")) != "/Image":
            raise ExpansionError(f"object {objgen[0]} {objgen[1]} is not an image")
        try:
            data = read_image(image, key.get("as"))
        except (BudgetExceeded, ExpansionError):
            raise
        except _errors() as error:
            raise ExpansionError(f"image {_describe(objgen)} cannot be decoded: {_short(error)}") from error
        return budget.bounded(io.BytesIO(data), len(data))

def _qpdf_warnings(pdf) -> str | None:
    """What qpdf had to repair or skip while reading (a lost object is
    otherwise silent: it reads as null), in one line."""
    try:
        warnings = [_short(Exception(text)) for text in pdf.get_warnings()]
    except _errors():
        return None
    if not warnings:
        return None
    return f"qpdf read it as damaged ({len(warnings)} warnings; first: {warnings[0]}; last: {warnings[-1]})"


@contextlib.contextmanager
def _closing(walk: dict[str, bool]):
    try:
        yield
    finally:
        walk["open"] = False


def _inherited_resources(page_obj):
    """A page's /Resources, or the nearest ancestor's (the page tree may hold them)."""
    node = page_obj
    for _ in range(MAX_PARENT_DEPTH):
        resources = node.get("/Resources")
        if resources is not None:
            return resources
        node = node.get("/Parent")
        if node is None:
            return None
    return None


def _as_list(value) -> list:
    pikepdf = _pikepdf()
    return list(value) if isinstance(value, pikepdf.Array) else []


# qpdf names the input in its messages; for a stream that is a repr with a
# memory address, which would make two runs' warnings differ.
_STREAM_REPR = re.compile(r"(stream )?<[^<>]*? at 0x[0-9a-fA-F]+>")


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return _STREAM_REPR.sub("the PDF", text[0] if text else type(error).__name__)[:300]
