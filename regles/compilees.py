"""Les règles compilées une fois pour toutes : expressions prêtes à chercher, expéditeurs triés
du plus précis au moins précis. Chaque étape de l'analyse (`regles.lecture`, `regles.classement`…)
les reçoit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from regles.expediteur import precision
from regles.modele import DecisionForcee, Nature, Ponderee, RegleExpediteur, Regles
from regles.texte import Expression, compiler


@dataclass(frozen=True)
class MarqueurPondere:
    expression: Expression
    poids: float


@dataclass(frozen=True)
class DecisionCompilee:
    regle: DecisionForcee
    objet: Expression | None
    texte: Expression | None


@dataclass(frozen=True)
class ReglesCompilees:
    regles: Regles
    mots_cles: Mapping[str, tuple[MarqueurPondere, ...]]
    haute: tuple[MarqueurPondere, ...]
    basse: tuple[MarqueurPondere, ...]
    demande: tuple[MarqueurPondere, ...]
    injection: tuple[Expression, ...]
    politesse: tuple[Expression, ...]
    appel: tuple[Expression, ...]
    condition: tuple[Expression, ...]
    information: tuple[Expression, ...]
    indices: Mapping[Nature, tuple[Expression, ...]]
    decisions: tuple[DecisionCompilee, ...]
    expediteurs: list[RegleExpediteur]  # le plus précis d'abord


def compiler_regles(regles: Regles) -> ReglesCompilees:
    def ponderees(paires: Iterable[Ponderee]) -> tuple[MarqueurPondere, ...]:
        return tuple(MarqueurPondere(compiler(e), float(p)) for e, p in paires)

    return ReglesCompilees(
        regles=regles,
        mots_cles={c: ponderees(m) for c, m in regles.mots_cles.items()},
        haute=ponderees(regles.urgence_haute),
        basse=ponderees(regles.urgence_basse),
        demande=ponderees(regles.demande),
        injection=tuple(compiler(e) for e in regles.injection),
        politesse=tuple(compiler(e) for e in regles.politesse),
        appel=tuple(compiler(e) for e in regles.appel),
        condition=tuple(compiler(e) for e in regles.condition),
        information=tuple(compiler(e) for e in regles.information),
        indices={n: tuple(compiler(e) for e in es) for n, es in regles.indices_nature.items()},
        decisions=tuple(
            DecisionCompilee(
                d,
                compiler(d.objet) if d.objet else None,
                compiler(d.texte) if d.texte else None,
            )
            for d in regles.decisions
        ),
        # La plus précise d'abord : adresse exacte, puis le domaine le plus long.
        expediteurs=sorted(regles.expediteurs, key=lambda r: precision(r.motif), reverse=True),
    )
