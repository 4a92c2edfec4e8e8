"""Banc de performance : les ratios contre leurs cibles et le rapport imprimé."""

from __future__ import annotations

import os
from dataclasses import dataclass

from preuves.bench_paliers import Palier, Resultats

CIBLE_NUIT = 1.2
CIBLE_OCR = 0.9
CIBLE_PREFECT = 0.05
CIBLE_APPELS = 1.0
CIBLE_MEMOIRE = 0.20  # « plate » : le pic grandit de moins de 20 % du plus petit au plus grand
CIBLE_SECONDE_NUIT_S = 5.0


def _n(valeur: float, decimales: int = 1) -> str:
    return f"{valeur:,.{decimales}f}".replace(",", " ").replace(".", ",")


def _e(valeur: int) -> str:
    return f"{valeur:,}".replace(",", " ")


@dataclass
class Ratio:
    libelle: str
    valeur: float
    affiche: str
    cible: str
    atteint: bool
    note: str = ""


def _note_nuit(
    p: Palier,
    borne_ocr_s: float,
    borne_llm_s: float,
    releve_s: float,
    lecture_s: float,
    analyse_s: float,
    prefect_s: float,
) -> str:
    """Où passe l'écart entre la nuit et sa borne : chaque morceau, en secondes."""
    intervalles = p.mesure["intervalles"]

    def fin(nom: str) -> float:
        return max((f for n, _, f in intervalles if n == nom), default=0.0)

    premiere = min((d for _, d, _ in intervalles), default=0.0)
    morceaux = [
        f"avant la première tâche (démarrage de Prefect) {_n(premiere)} s",
        f"relève des sources {_n(releve_s)} s, avant la lecture (une transaction et une "
        "écriture d'archive par élément)",
    ]
    recouvrement = lecture_s + analyse_s > 0 and p.taches_s < 0.95 * (
        releve_s + lecture_s + analyse_s
    )
    if not recouvrement:
        morceaux.append(
            "lecture (OCR) puis analyse (LLM) en séquence : la nuit dure leur somme, quand les "
            "bornes n'en demandent que le maximum"
        )
    else:
        queue = fin("analyser et préparer les brouillons") - fin("lire les courriers")
        if borne_ocr_s >= borne_llm_s or lecture_s > borne_llm_s:
            morceaux.append(
                f"la lecture, qui retient la nuit, dure {_n(lecture_s)} s contre "
                f"{_n(borne_ocr_s)} s pour tesseract seul (l'analyse et ses fils prennent du "
                "calcul aux mêmes cœurs)"
            )
        morceaux.append(f"analyse des derniers courriers lus, après la lecture : {_n(queue)} s")
    return (
        f"Étapes : relève {_n(releve_s)} s, lecture et OCR {_n(lecture_s)} s, analyse "
        f"{_n(analyse_s)} s{' (elles se recouvrent)' if recouvrement else ''}, Prefect "
        f"{_n(prefect_s)} s. "
        "L'écart à la borne : " + " ; ".join(morceaux) + "."
    )


def _duree_des_scans(p: Palier) -> float:
    """De la lecture du dernier courriel à celle du dernier scan (les scans passent en
    dernier) ; 0 si les comptes ne le permettent pas."""
    lus = sorted(p.mesure.get("lus", []))
    if not p.nuit.scans or len(lus) != p.elements or p.nuit.scans >= len(lus):
        return 0.0
    return lus[-1] - lus[-p.nuit.scans - 1]


def ratios(r: Resultats) -> tuple[dict[str, float], list[Ratio]]:
    p = r.principal
    m = p.mesure
    appels = p.appels_analyse + p.appels_redaction
    borne_llm = appels * r.latence_s / r.parallele
    bornes = max(r.borne_ocr_s, borne_llm)
    nuit_s = m["nuit_s"]
    releve_s = p.etape("relever une source")
    lecture_s = p.etape("lire les courriers")
    analyse_s = p.etape("analyser et préparer les brouillons")
    prefect_s = max(0.0, nuit_s - p.taches_s) + m["limite_llm_s"] / r.parallele
    chiffres = {
        "borne_ocr_s": r.borne_ocr_s,
        "borne_llm_s": borne_llm,
        "nuit_s": nuit_s,
        "releve_s": releve_s,
        "lecture_s": lecture_s,
        "analyse_s": analyse_s,
        "prefect_s": prefect_s,
        "limite_llm_s": m["limite_llm_s"],
        "appels_llm": appels,
        "seconde_nuit_s": m["seconde_nuit_s"],
    }
    liste: list[Ratio] = []

    rapport_nuit = nuit_s / bornes if bornes else float("inf")
    note = _note_nuit(p, r.borne_ocr_s, borne_llm, releve_s, lecture_s, analyse_s, prefect_s)
    liste.append(
        Ratio(
            "nuit ÷ max(borne OCR, borne LLM)",
            rapport_nuit,
            _n(rapport_nuit, 2),
            f"≤ {_n(CIBLE_NUIT)}",
            rapport_nuit <= CIBLE_NUIT,
            note,
        )
    )

    debit = r.borne_ocr_s / lecture_s if lecture_s else 0.0
    scans_s = _duree_des_scans(p)
    debit_scans = (
        (p.nuit.scans / scans_s) / (r.pages_borne / r.borne_ocr_s)
        if scans_s and r.pages_borne and r.borne_ocr_s
        else 0.0
    )
    chiffres["scans_s"] = scans_s
    chiffres["debit_scans"] = debit_scans
    liste.append(
        Ratio(
            "débit de la lecture ÷ débit de tesseract seul",
            debit,
            _n(debit, 2),
            f"≥ {_n(CIBLE_OCR)}",
            debit >= CIBLE_OCR,
            "La lecture fait, en plus de l'OCR des mêmes pages, le décodage MIME de "
            f"{_e(p.nuit.courriels)} courriels, la couche texte de "
            f"{_e(p.nuit.avec_pdf - p.nuit.pdf_image)} PDF, le rendu des pages des PDF image "
            "(pypdfium2), la sortie TSV de Tesseract (confiances) et une écriture au registre "
            "par courrier, dans le processus principal, où tournent aussi les fils de "
            "l'analyse. Sur la fin de la lecture, où il ne reste que les scans, le débit vaut "
            f"{_n(debit_scans, 2)} fois celui de tesseract seul ({_e(p.nuit.scans)} scans en "
            f"{_n(scans_s)} s).",
        )
    )

    part = prefect_s / nuit_s if nuit_s else 0.0
    liste.append(
        Ratio(
            "part de Prefect dans la nuit",
            part,
            f"{_n(100 * part)} %",
            f"≤ {_n(100 * CIBLE_PREFECT, 0)} %",
            part <= CIBLE_PREFECT,
            f"Hors des tâches : {_n(max(0.0, nuit_s - p.taches_s))} s (surtout le démarrage du "
            "serveur Prefect temporaire) ; limite globale « courrier-llm » : "
            f"{_n(m['limite_llm_s'])} s cumulés sur {_e(m['limite_llm_appels'])} appels, "
            f"{_n(m['limite_llm_s'] / r.parallele)} s de nuit.",
        )
    )

    par_courrier = p.appels_analyse / m["analyses"] if m["analyses"] else 0.0
    liste.append(
        Ratio(
            "appels LLM d'analyse par courrier",
            par_courrier,
            _n(par_courrier, 2),
            f"≤ {_n(CIBLE_APPELS, 0)}",
            par_courrier <= CIBLE_APPELS,
        )
    )
    par_brouillon = p.appels_redaction / p.brouillons_ia if p.brouillons_ia else 0.0
    liste.append(
        Ratio(
            "appels LLM de rédaction par brouillon de l'IA",
            par_brouillon,
            _n(par_brouillon, 2),
            f"≤ {_n(CIBLE_APPELS, 0)}",
            par_brouillon <= CIBLE_APPELS,
        )
    )

    petit = min(r.paliers, key=lambda x: x.elements)
    if len(r.paliers) > 1 and petit.mesure["pic_principal_mo"]:
        croissance = p.mesure["pic_principal_mo"] / petit.mesure["pic_principal_mo"] - 1
        lecture_petit = petit.mesure["pics_enfants_mo"]["lecture"] or 1.0
        croissance_lecture = p.mesure["pics_enfants_mo"]["lecture"] / lecture_petit - 1
        pire = max(croissance, croissance_lecture)
        liste.append(
            Ratio(
                f"croissance du pic mémoire, {_e(petit.elements)} → {_e(p.elements)} éléments",
                pire,
                f"{'+' if pire >= 0 else ''}{_n(100 * pire, 0)} %",
                f"≤ +{_n(100 * CIBLE_MEMOIRE, 0)} %",
                pire <= CIBLE_MEMOIRE,
                f"Processus principal {_n(100 * croissance, 0)} %, processus de lecture "
                f"{_n(100 * croissance_lecture, 0)} %. Le processus principal garde la liste "
                "des courriers à lire et à analyser (textes compris) et les résultats de "
                "lecture jusqu'à la fin de l'étape.",
            )
        )

    seconde = m["seconde_nuit_s"]
    liste.append(
        Ratio(
            "seconde nuit, rien de nouveau",
            seconde,
            f"{_n(seconde)} s",
            f"≤ {_n(CIBLE_SECONDE_NUIT_S, 0)} s",
            seconde <= CIBLE_SECONDE_NUIT_S,
            "Le flow relancé dans le même processus (serveur Prefect déjà démarré) ; la CLI "
            "`courrier releve`, qui se passe de Prefect, se mesure avec preuves.releve_a_vide.",
        )
    )
    return chiffres, liste


def rapport(r: Resultats) -> str:
    p = r.principal
    m = p.mesure
    chiffres, liste = ratios(r)
    lignes = [
        f"Banc de performance de Courrier — nuit de {_e(p.elements)} éléments (graine {r.graine})",
        f"  {_e(p.nuit.courriels)} courriels dont {_e(p.nuit.avec_pdf)} avec un PDF joint "
        f"({_e(p.nuit.pdf_image)} PDF image seule), {_e(p.nuit.scans)} scans A4 à 300 dpi",
        "  sources : dossier de fichiers .eml (COURRIER_DEPOT_EML) et dossier des scans "
        "(COURRIER_DEPOT_SCANS) ; registre SQLite ; flow Prefect `releve`, serveur temporaire",
        f"  LLM : serveur de test compatible OpenAI, latence {_n(r.latence_s, 2)} s, "
        f"{r.parallele} appels simultanés (COURRIER_LLM_PARALLELE), pseudonymisation activée",
        f"  OCR : {r.processus} processus (COURRIER_OCR_PROCESSUS), {os.cpu_count()} cœurs",
        "",
        "Mesures",
    ]

    def ligne(libelle: str, valeur: str) -> None:
        lignes.append(f"  {libelle:<58} {valeur:>12}")

    ligne(
        f"borne OCR : tesseract seul, {_e(r.pages_borne)} pages, {r.processus} processus",
        f"{_n(chiffres['borne_ocr_s'])} s",
    )
    ligne(
        f"borne LLM : {_e(int(chiffres['appels_llm']))} appels × {_n(r.latence_s, 2)} s ÷ "
        f"{r.parallele}",
        f"{_n(chiffres['borne_llm_s'])} s",
    )
    ligne("nuit de bout en bout (flow `releve`)", f"{_n(chiffres['nuit_s'])} s")
    ligne("  relève des sources (archive, registre)", f"{_n(chiffres['releve_s'])} s")
    ligne(f"  lecture et OCR ({_e(p.pages_lues_ocr)} pages OCR)", f"{_n(chiffres['lecture_s'])} s")
    ligne(f"    dont les {_e(p.nuit.scans)} scans, lus en dernier", f"{_n(chiffres['scans_s'])} s")
    ligne("  analyse et brouillons", f"{_n(chiffres['analyse_s'])} s")
    ligne("  Prefect (hors tâches, limite LLM)", f"{_n(chiffres['prefect_s'])} s")
    ligne("imports (Python, Prefect), hors nuit", f"{_n(m['imports_s'])} s")
    ligne("courriers enregistrés / générés", f"{_e(p.enregistres)} / {_e(p.elements)}")
    ligne(
        "courriers lus / en erreur de lecture", f"{_e(m['extraits'])} / {_e(m['erreurs_lecture'])}"
    )
    ligne(
        "courriers analysés / dont par le LLM / replis",
        f"{_e(m['analyses'])} / {_e(m['par_llm'])} / {_e(m['replis'])}",
    )
    ligne(
        "appels LLM : analyse / rédaction",
        f"{_e(p.appels_analyse)} / {_e(p.appels_redaction)}",
    )
    ligne("brouillons / dont préparés par l'IA", f"{_e(m['brouillons'])} / {_e(p.brouillons_ia)}")
    ligne("seconde nuit (rien de nouveau)", f"{_n(m['seconde_nuit_s'])} s")
    lignes += ["", "Pic mémoire (Mo) par palier"]
    lignes.append(
        f"  {'éléments':>9} {'nuit (s)':>10} {'principal':>10} {'lecture':>9} "
        f"{'tesseract':>10} {'autres':>8}"
    )
    for palier in sorted(r.paliers, key=lambda x: x.elements):
        pics = palier.mesure["pics_enfants_mo"]
        lignes.append(
            f"  {_e(palier.elements):>9} {_n(palier.mesure['nuit_s']):>10} "
            f"{_n(palier.mesure['pic_principal_mo'], 0):>10} {_n(pics['lecture'], 0):>9} "
            f"{_n(pics['tesseract'], 0):>10} {_n(pics['autres'], 0):>8}"
        )
    lignes += ["", "Ratios", f"  {'':<50} {'mesuré':>10} {'cible':>10}  résultat"]
    for ratio in liste:
        lignes.append(
            f"  {ratio.libelle:<50} {ratio.affiche:>10} {ratio.cible:>10}  "
            f"{'OK' if ratio.atteint else 'manqué'}"
        )
    manques = [ratio for ratio in liste if not ratio.atteint and ratio.note]
    if manques:
        lignes += ["", "Notes (cibles manquées)"]
        for ratio in manques:
            lignes.append(f"  - {ratio.libelle} : {ratio.note}")
    lignes += [
        "",
        "Temps mesurés sur cette machine, avec ce qui y tournait en même temps ; rien n'est "
        "vérifié ici, le banc imprime seulement.",
    ]
    return "\n".join(lignes)
