"""Why scores mislead: live, editable examples where similarity and the overall score disagree, and why.

Similarity of sentence embeddings measures topic and wording, not truth. Each example has a reference
and two answers to edit; the table shows which score moves (overall, similarity, word coverage, exact
word overlap) and the flags that explain it.
"""

import pandas as pd
import streamlit as st

from app_ui import assess_ui, page_header, show_code
from slm_lib.eval.assess import overall_score
from slm_lib.eval.word_diff import shared_words

page_header(
    "Why scores mislead",
    "A score is only useful if you know what it measures. **Similarity** (cosine of sentence embeddings) "
    "rewards answers about the same topic in similar words, so a fluent answer with one wrong fact can "
    "score as high as a right one. The **overall** score adds fact checks (numbers, names, negation, "
    "relations, code) and word coverage. Edit any text below and watch which scores move.",
)

EXAMPLES = {
    "Negation": (
        "Not all birds can fly: penguins and ostriches cannot.",
        "Some birds, such as penguins and ostriches, cannot fly.",
        "All birds can fly, including penguins and ostriches.",
        "One word turns the fact around, yet similarity barely moves: embeddings hardly see 'not'. "
        "The negation check does.",
    ),
    "A wrong number": (
        "The sum of the whole numbers from 1 to 100 is 5050.",
        "Adding the numbers from 1 to 100 gives 5,050.",
        "Adding the numbers from 1 to 100 gives 5,000.",
        "5,000 and 5,050 look alike to an embedding. The number check reads 5,050 = 5050 as equal and flags 5,000.",
    ),
    "Long answer, short reference": (
        "Canberra is the capital of Australia.",
        "Canberra.",
        "The capital of Australia is Canberra. It was chosen in 1908 as a compromise between Sydney and "
        "Melbourne, was planned by the architects Walter Burley Griffin and Marion Mahony Griffin, and has "
        "been home to Parliament House since 1927.",
        "The long answer is right but its extra sentences pull similarity down. Recall (how much of the "
        "reference it covers) stays high, so the overall score does not punish it as much. Extra names "
        "are not flagged: the answer still names Canberra.",
    ),
    "A paraphrase sharing no words": (
        "Cars run on gasoline.",
        "Cars run on gasoline.",
        "Automobiles need petrol to drive.",
        "Not one word is shared, so a word-overlap score would say 0. Token embeddings match cars with "
        "automobiles and gasoline with petrol, so similarity and coverage stay well above unrelated text.",
    ),
}

SLUGS = ("negation", "number", "long", "paraphrase")  # widget keys: limits.<slug>.reference / .a / .b
for tab, slug, (reference, right, variant, lesson) in zip(
    st.tabs(list(EXAMPLES)), SLUGS, EXAMPLES.values(), strict=True
):
    with tab:
        ref = st.text_area("Reference answer", reference, key=f"limits.{slug}.reference", height=80)
        left, right_col = st.columns(2)
        a = left.text_area("Answer A", right, key=f"limits.{slug}.a", height=110)
        b = right_col.text_area("Answer B", variant, key=f"limits.{slug}.b", height=110)
        if not ref.strip():
            st.info("Type a reference answer to score the answers against.")
            continue
        found = assess_ui.assessments((a, b), (ref,))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "answer": label,
                        "overall": x.overall,
                        "similarity": x.similarity,
                        "reference covered (recall)": x.highlights.recall,
                        "answer supported (precision)": x.highlights.precision,
                        "exact words shared": shared_words(text, ref),
                        "flags": " · ".join(x.flags) or "–",
                    }
                    for label, text, x in (("A", a, found[0]), ("B", b, found[1]))
                ]
            ),
            hide_index=True,
            key=f"limits.{slug}.table",
        )
        moved_sim = found[1].similarity - found[0].similarity
        moved_all = found[1].overall - found[0].overall
        st.markdown(
            f"From A to B, similarity moves by **{moved_sim:+.3f}** and overall by **{moved_all:+.3f}**"
            f" ({len(found[1].flags)} flag(s) on B; each halves overall). {lesson}"
        )
        with st.expander("Words covered and missed"):
            c1, c2 = st.columns(2)
            with c1:
                assess_ui.render_highlights(found[0].highlights, a, ref)
            with c2:
                assess_ui.render_highlights(found[1].highlights, b, ref)
        st.caption("A word by word, against B:")
        assess_ui.render_diff(a, b)

st.info(
    "What no local score can do: know facts the reference does not state, or judge an answer to a different "
    "but valid reading of the question. Read the answers, give several references where one is unfair, and "
    "use a model as judge (Playground) as a second opinion, not as the truth."
)
show_code(overall_score, shared_words)
