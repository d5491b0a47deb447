"""Project titles and descriptions by topic: the vocabulary a demo catalogue is written from."""
from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np


# tag: (methods, applications, skills). Titles read as "<method> for <application>".
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "machine learning": (
        ("Graph neural networks", "Self-supervised learning", "Few-shot learning", "Reinforcement learning",
         "Transformer models", "Active learning", "Bayesian optimisation", "Contrastive learning"),
        ("early detection of crop disease", "predicting student drop-out", "traffic forecasting",
         "low-resource machine translation", "anomaly detection in server logs", "protein function prediction",
         "energy demand forecasting", "sign language recognition"),
        ("Python", "PyTorch", "experimental design", "statistics", "scikit-learn", "GPU computing"),
    ),
    "data science": (
        ("Causal inference", "Interactive dashboards", "Time-series analysis", "Record linkage",
         "Spatial statistics", "Topic modelling", "Survival analysis"),
        ("NHS waiting-list data", "open government spending data", "bike-sharing demand",
         "air-quality sensor networks", "customer churn", "football match data", "library loan records"),
        ("Python", "pandas", "SQL", "data visualisation", "statistics", "R"),
    ),
    "security": (
        ("Fuzzing", "Static analysis", "Formal verification", "Side-channel analysis", "Threat modelling",
         "Differential privacy", "Honeypots"),
        ("smart-home devices", "browser extensions", "CAN-bus vehicle networks", "password managers",
         "contact-tracing apps", "industrial control systems", "Rust crates"),
        ("C", "Linux", "reverse engineering", "cryptography", "networking", "Rust"),
    ),
    "HCI": (
        ("Participatory design", "Eye tracking", "Conversational agents", "Haptic feedback",
         "Accessible interfaces", "Gamification"),
        ("older adults managing medication", "visually impaired programmers", "museum visitors",
         "remote pair programming", "citizen science volunteers", "first-year students learning to code"),
        ("user studies", "prototyping", "qualitative analysis", "JavaScript", "Figma", "ethics applications"),
    ),
    "embedded": (
        ("Low-power firmware", "Real-time scheduling", "Energy harvesting", "TinyML",
         "Over-the-air updates", "Sensor fusion"),
        ("wearable health monitors", "beehive monitoring", "smart irrigation", "wildlife tracking collars",
         "e-bike controllers", "building occupancy sensing"),
        ("C", "microcontrollers", "electronics", "RTOS", "oscilloscopes", "PCB design"),
    ),
    "robotics": (
        ("Visual SLAM", "Imitation learning", "Motion planning", "Swarm coordination", "Soft grippers",
         "Human-robot handover"),
        ("warehouse picking", "agricultural robots", "underwater inspection", "assistive feeding",
         "drone search and rescue", "robot football"),
        ("ROS", "C++", "Python", "linear algebra", "control theory", "simulation"),
    ),
    "bioinformatics": (
        ("Sequence alignment", "Phylogenetic inference", "Single-cell clustering", "Variant calling",
         "Protein structure prediction", "Metagenomic binning"),
        ("antibiotic resistance genes", "cancer genomes", "ancient DNA", "gut microbiome samples",
         "plant pathogen surveillance", "rare disease diagnosis"),
        ("Python", "biology basics", "statistics", "high-performance computing", "Snakemake", "R"),
    ),
    "networks": (
        ("Software-defined networking", "Congestion control", "Network telemetry", "Peer-to-peer overlays",
         "Edge caching", "Network simulation"),
        ("5G campus networks", "video streaming", "satellite internet", "data-centre fabrics",
         "community mesh networks", "online gaming"),
        ("networking", "Linux", "C", "Go", "measurement", "Wireshark"),
    ),
    "theory": (
        ("Approximation algorithms", "Parameterised complexity", "Online algorithms", "Matching under preferences",
         "Graph colouring", "Automata learning"),
        ("fair division", "scheduling with deadlines", "kidney exchange", "student-project allocation",
         "routing problems", "string processing"),
        ("discrete mathematics", "proofs", "algorithms", "complexity theory", "LaTeX", "Python"),
    ),
    "graphics": (
        ("Neural rendering", "Procedural generation", "Physically based rendering", "Mesh simplification",
         "Real-time ray tracing", "Motion capture"),
        ("open-world games", "cultural heritage sites", "virtual reality training", "terrain visualisation",
         "cloth simulation", "architectural walkthroughs"),
        ("C++", "OpenGL", "linear algebra", "GPU programming", "Blender", "shaders"),
    ),
    "sustainability": (
        ("Carbon-aware scheduling", "Life-cycle assessment", "Digital twins", "Optimisation models",
         "Citizen sensing", "Green software metrics"),
        ("data-centre workloads", "urban heat islands", "food waste in canteens", "electric vehicle charging",
         "campus energy use", "flood risk"),
        ("Python", "optimisation", "data analysis", "stakeholder interviews", "GIS", "statistics"),
    ),
    "software engineering": (
        ("Mutation testing", "Program repair", "Code review analytics", "Property-based testing",
         "Continuous integration mining", "Refactoring recommendation"),
        ("open-source Python projects", "scientific software", "student programming assignments",
         "microservice systems", "mobile apps", "infrastructure as code"),
        ("Java", "Python", "Git", "testing", "empirical methods", "static analysis"),
    ),
    "distributed systems": (
        ("Consensus protocols", "CRDTs", "Serverless computing", "Stream processing", "Chaos engineering",
         "Distributed tracing"),
        ("collaborative text editing", "IoT fleets", "financial transactions", "multiplayer games",
         "scientific workflows", "edge clusters"),
        ("Go", "Kubernetes", "Rust", "distributed algorithms", "Docker", "benchmarking"),
    ),
    "natural language processing": (
        ("Large language models", "Named entity recognition", "Argument mining", "Speech recognition",
         "Retrieval-augmented generation", "Text simplification"),
        ("legal contracts", "clinical notes", "parliamentary debates", "customer support chats",
         "low-resource languages", "scientific literature"),
        ("Python", "Hugging Face", "linguistics", "evaluation methods", "PyTorch", "annotation"),
    ),
}
TAGS = tuple(TOPICS)
# Real catalogues lean towards AI and data; the rest share what is left.
TAG_WEIGHTS = np.array([3.0 if t in ("machine learning", "data science", "natural language processing") else 1.0
                         for t in TAGS])

_TITLE_TEMPLATES = ("{M} for {a}", "{M} for {a}", "{M} for {a}", "{M} applied to {a}", "{A}: {an} {m} approach")
_SENTENCES = (
    "You will start from a short review of recent work, build a prototype, and evaluate it against a "
    "simple baseline.",
    "The aim is a working system and an honest evaluation of where {m} helps and where it does not.",
    "A strong result could become a workshop paper, and previous students have presented at conferences.",
    "Data and equipment come from the supervisor's group; no prior experience with them is needed.",
    "There is room to steer the project towards {other} if that interests you.",
    "Expect weekly meetings, a shared repository from the first week, and a demo at the end of term.",
    "The first milestone is a reproducible pipeline; everything after that builds on it.",
    "Part of the work is talking to the people who would use the result, so good communication matters.",
)


def _lc(phrase: str) -> str:
    # Keep acronyms and proper nouns ("NHS", "TinyML", "CRDTs") as they are.
    first = phrase.split()[0]
    return phrase if any(c.isupper() for c in first[1:]) else phrase[0].lower() + phrase[1:]


def _uc(phrase: str) -> str:
    return phrase[0].upper() + phrase[1:]


def project_text(r: random.Random, tags: list[str], capacity: int, min_students: int,
                  companies: Sequence[str], used: set[str]) -> tuple[str, str]:
    methods, applications, skills = TOPICS[tags[0]]
    for _ in range(25):
        method, application = r.choice(methods), r.choice(applications)
        an = "an" if method[0].lower() in "aeio" else "a"
        title = r.choice(_TITLE_TEMPLATES).format(M=method, m=_lc(method), a=application, A=_uc(application), an=an)
        if title not in used:
            break
    else:
        title = f"{title} ({len(used) + 1})"
    used.add(title)
    other = tags[1] if len(tags) > 1 else r.choice([t for t in TAGS if t != tags[0]])
    sentences = [f"This project applies {_lc(method)} to {application}."]
    sentences += [s.format(m=_lc(method), other=other) for s in r.sample(_SENTENCES, r.randint(2, 3))]
    if min_students >= 2:
        sentences.append(f"It is a group project for {min_students} to {capacity} students, "
                         "with the work split into parts that each person owns.")
    elif capacity > 1:
        sentences.append(f"Up to {capacity} students can take it, each on their own variant.")
    picked = r.sample(sorted(set(skills) | {s for t in tags[1:] for s in TOPICS[t][2][:2]}), r.randint(3, 5))
    lines = [f"### {title}", "", " ".join(sentences), "", "**Skills you will use**", ""]
    lines += [f"- {s}" for s in picked]
    if r.random() < 0.2:
        lines += ["", f"*In collaboration with {r.choice(companies)}.*"]
    return title, "\n".join(lines) + "\n"
