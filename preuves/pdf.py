"""Des PDF écrits à la main pour les tests et les preuves : objets numérotés à partir de 1."""

from __future__ import annotations


def assembler_pdf(objets: list[bytes], trailer: bytes = b"") -> bytes:
    """Un PDF dont l'objet 1 est le catalogue, table xref exacte ; `trailer` : entrées en plus
    (par exemple /Encrypt)."""
    morceaux = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    position = len(morceaux[0])
    decalages = []
    for rang, objet in enumerate(objets, start=1):
        bloc = b"%d 0 obj\n%s\nendobj\n" % (rang, objet)
        decalages.append(position)
        morceaux.append(bloc)
        position += len(bloc)
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(objets) + 1)]
    xref.extend(b"%010d 00000 n \n" % d for d in decalages)
    morceaux.extend(xref)
    morceaux.append(
        b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objets) + 1, trailer, position)
    )
    return b"".join(morceaux)
