"""The `ombuds` commands that measure ombuds: eval (retrieval, answers, provisions and the
generative mode), calibrate (refit the answerability models) and bench (throughput and
latency). They run the code of eval/, imported only when the command runs.

Registered on the group in app/cli.py; kept apart from it as the commands for working on
ombuds rather than with it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click

from app.cli_common import (
    _fail,
    _llm_config,
    _open_index,
    backend_options,
    data_dir_option,
    llm_options,
    model_option,
)
from index.search import Index


@click.command("eval")
@data_dir_option
@model_option
@click.option("--naive/--no-naive", default=True, show_default=True,
              help="Also measure the naive 1000/200-chunk baseline.")
@click.option("--compare", is_flag=True, help="Print the change from the previous recorded run.")
@click.option("--answers/--no-answers", "answers_", default=True, show_default=True,
              help="Also measure `ombuds ask` (grounded answers, correct refusals).")
@click.option("--record/--no-record", default=True, show_default=True,
              help="Append this run to eval/history.jsonl, redraw eval/history.png and "
                   "rewrite eval/latest.md (--no-record prints the misses instead).")
@backend_options
@click.option("--llm", "llm_", is_flag=True,
              help="Also measure the generative mode on the dev and test splits (needs "
                   "OMBUDS_LLM_BASE_URL and OMBUDS_LLM_MODEL): answers shown, fallbacks and why, "
                   "latency.")
@click.option("--llm-limit", type=click.IntRange(1), help="With --llm: only the first N "
              "questions of each split.")
@click.option("--only", type=click.Choice(["answers"]),
              help="Only this part: `--only answers` measures `ombuds ask` alone (not recorded).")
@click.option("--select", "select_", metavar="IDS",
              help="Only these questions and situations: ids and ranges, e.g. "
                   "q801-q895,s301-s330 (not recorded; eval/latest.md is left as it is).")
@llm_options
def eval_command(data_dir: Path | None, model: str | None, naive: bool, compare: bool,
                 answers_: bool, record: bool, llm_: bool, llm_limit: int | None,
                 only: str | None, select_: str | None, llm_max_tokens: int | None,
                 llm_timeout: float | None, llm_idle_timeout: float | None) -> None:
    """Measure retrieval quality on eval/questions.jsonl (Recall@1/5/10, MRR@10, nDCG@10),
    overall and per user type, for bm25, dense and hybrid, beside the naive baseline.

    \b
    Reproduce the README's table:
      ombuds ingest corpus ../shared/corpus && ombuds eval
    The generative mode's figures (a local server configured):
      ombuds eval --no-naive --no-answers --no-record --llm --llm-limit 30
    """
    from eval import run as ev
    from eval import stats

    config = _llm_config(True, llm_max_tokens, llm_timeout, llm_idle_timeout) if llm_ else None
    try:
        chosen = ev.selection(select_) if select_ else None
    except ValueError as e:
        _fail(f"--select: {e}")
    index = _open_index(data_dir, model)
    click.echo(f"ombuds eval works on a snapshot of {index.store.path} (generation "
               f"{index.generation}: {len(index.docs)} documents, {len(index.ids)} passages); "
               "documents added or removed while it runs are not seen", err=True)
    questions, situations_ = ev.load_questions(), ev.load_situations()
    if chosen is not None:
        questions = [q for q in questions if q["id"] in chosen]
        situations_ = [s for s in situations_ if s["id"] in chosen]
        if not questions and not situations_:
            _fail(f"--select: no question or situation has one of the ids {select_}")
        record = False
        click.echo(f"selected {len(questions)} questions and {len(situations_)} situations "
                   "(not recorded)", err=True)
    needed = {e["doc_id"] for q in questions for e in q["evidence"]}
    missing = sorted(needed - set(index.docs))
    if missing:
        click.echo(f"warning: {len(missing)} document(s) the questions cite are not in the "
                   f"index ({', '.join(missing[:4])}...); run `ombuds ingest corpus "
                   f"../shared/corpus`", err=True)
    t0 = time.perf_counter()
    if only == "answers":
        click.echo(ev.answers_table(ev.evaluate_answers(index, questions)))
        click.echo(f"{time.perf_counter() - t0:.0f} s. Tuned on dev only; test is reported.")
        return
    results, details, latency = ev.evaluate_index(index, questions)
    naive_details = None
    if naive:
        naive_results, naive_details = ev.evaluate_naive(index, questions)
        results.update(naive_results)
    answers = ev.evaluate_answers(index, questions) if answers_ else None
    situations = ev.evaluate_situations(index, situations_)
    answered = [q for q in questions if q["answerable"]]
    n_split = {sp: sum(q.get("split", "dev") == sp for q in answered) for sp in ev.SPLITS}
    click.echo(f"{len(answered)} answerable questions ({n_split['dev']} dev, "
               f"{n_split['test']} test; {len(questions) - len(answered)} unanswerable, not "
               f"scored here); {len(index.ids)} passages; model {index.model_name}; "
               f"{time.perf_counter() - t0:.0f} s. Tuned on dev only; test is reported.")
    adapter = index.adapter
    adapter_line = ("query adapter: none (the model's own query vectors)" if adapter is None else
                    f"query adapter: fitted on {adapter.info.get('questions', '?')} "
                    f"{adapter.info.get('fitted_on', '?')} questions, so the adapted runs' dev "
                    "figures are in-sample (held out: `ombuds calibrate --adapter-cv`)")
    click.echo(adapter_line)
    text = ev.table(results)
    click.echo(text)
    if answers:
        click.echo(ev.answers_table(answers))
    provisions_text = ev.situations_table(situations)
    click.echo(provisions_text)
    intervals = {**ev.question_intervals(questions, details, naive_details),
                 **situations.pop("intervals")}
    intervals_text = stats.intervals_table(intervals, ev.TARGETS)
    click.echo(intervals_text)
    missed = ev.failures(questions, details)
    lines = [f"- {q['id']} ({q['user']}, {q['style']}): {q['question']}" for q in missed]
    answers_text = ev.answers_table(answers) + "\n\n" if answers else ""
    if chosen is not None or not record:  # a partial or unrecorded run leaves latest.md be
        click.echo(f"hybrid misses at 10: {len(missed)}")
        if lines:
            click.echo("\n".join(lines))
        if chosen is not None:
            return
    else:
        ev.LATEST.write_text(
            "# Latest evaluation\n\n" + adapter_line + ".\n\n" + text + "\n\n" + answers_text
            + provisions_text + "\n\n" + intervals_text + "\n\nHybrid misses at 10 "
            f"({len(missed)}):\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
        click.echo(f"hybrid misses at 10: {len(missed)} (listed in {ev.LATEST})")
    record_ = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "commit": ev.git_commit(),
               "config": {"model": index.model_name, "passages": len(index.ids),
                          "questions": len(answered), "k": 10,
                          "query_adapter": adapter.info if adapter is not None else None,
                          "median_latency_ms": {m: round(v, 1) for m, v in latency.items()}},
               "metrics": results, "answers": answers, "situations": situations,
               "intervals": intervals}
    if config is not None:
        record_["llm"] = _eval_llm(index, questions, config, llm_limit)
    if record:
        history = ev.append_history(record_)
        ev.plot(history)
        if compare and len(history) > 1:
            click.echo("\n".join(ev.compare(history[-2], history[-1])))
    elif compare and ev.HISTORY.exists():
        previous = json.loads(ev.HISTORY.read_text().splitlines()[-1])
        click.echo("\n".join(ev.compare(previous, record_)))


def _eval_llm(index: Index, questions: list[dict], config, limit: int | None) -> dict:
    """`eval --llm`: eval/llm.py on the dev and test splits; the table is printed and written
    to eval/llm.md, the summary returned for the history."""
    from eval import llm as ev_llm

    def progress(row: dict) -> None:
        click.echo(f"  {row['id']} ({row['split']}): {row['outcome']} in {row['seconds']:.1f} s",
                   err=True)

    results = ev_llm.evaluate_llm(index, questions, config, limit, progress)
    text = ev_llm.table(results)
    click.echo(text)
    ev_llm.LATEST.write_text("# Latest generative-mode evaluation\n\n" + text + "\n",
                             encoding="utf-8")
    return {k: v for k, v in results.items() if k != "rows"}


@click.command()
@data_dir_option
@model_option
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the models (default: app/answerability.json for the default "
                   "model, app/answerability-<model>.json for another).")
@click.option("--repeats", type=click.IntRange(1, 20), default=None,
              help="Cross-validation repeats (default 4).")
@click.option("--sample", type=click.IntRange(10, 10000), default=None,
              help="Only the first N dev questions (a quick check, e.g. in tests).")
@click.option("--adapter", "adapter_", is_flag=True,
              help="First refit the query adapter on the dev questions (index/adapter.py) and "
                   "write it, then fit the answer models with it.")
@click.option("--adapter-output", type=click.Path(dir_okay=False, path_type=Path),
              help="With --adapter: where to write it (default: index/query_adapter.npz).")
@click.option("--adapter-cv", is_flag=True,
              help="Only print the query adapter's 5-fold cross-validation within dev (held-out "
                   "hybrid R@5 and MRR@10 per setting); nothing written.")
@click.option("--tune-model", is_flag=True,
              help="Only refit all-MiniLM-L6-v2's bias terms on the dev questions "
                   "(eval/tune.py) and write index/model_tuning.npz: the default model, "
                   "all-MiniLM-L6-v2-ombuds (stores then need `ombuds reindex`).")
@click.option("--tune-model-output", type=click.Path(dir_okay=False, path_type=Path),
              help="With --tune-model: where to write it (default: index/model_tuning.npz).")
@click.option("--tune-model-cv", is_flag=True,
              help="Only print the tuning's 2-fold cross-validation within dev (held-out "
                   "hybrid and dense R@5, MRR@10; the plain model beside it); nothing written.")
def calibrate(data_dir: Path | None, model: str | None, output: Path | None,
              repeats: int | None, sample: int | None, adapter_: bool,
              adapter_output: Path | None, adapter_cv: bool, tune_model: bool,
              tune_model_output: Path | None, tune_model_cv: bool) -> None:
    """Refit the answerability and sentence models of `ombuds ask` on the dev split of
    eval/questions.jsonl (cross-validated, test never read) and write them as plain numbers;
    with --adapter, the query adapter first.

    \b
    Examples:
      ombuds calibrate                       # rewrites app/answerability.json
      ombuds calibrate --adapter             # and index/query_adapter.npz before it
      ombuds calibrate --adapter-cv          # how the adapter's settings were chosen
      ombuds calibrate --tune-model          # rewrites index/model_tuning.npz only
      ombuds calibrate --tune-model-cv       # the tuning's held-out figures on dev
      ombuds calibrate --output /tmp/m.json --repeats 1
    """
    from app.answerability import models_path
    from eval import adapter as ad
    from eval import calibrate as cal
    from eval import run as ev
    from eval import tune
    from index.adapter import ADAPTER_PATH, base_model, save_adapter
    from index.tuned import TUNED_MODEL

    index = _open_index(data_dir, model)
    dev = [q for q in ev.load_questions() if q.get("split", "dev") == "dev"]
    # an answerable question whose documents are not indexed would teach the models nothing
    missing = [q for q in dev if q["answerable"]
               and not {e["doc_id"] for e in q["evidence"]} & set(index.docs)]
    if missing:
        click.echo(f"warning: {len(missing)} answerable dev questions cite documents not in the "
                   "index and are left out; run `ombuds ingest corpus ../shared/corpus`", err=True)
        dev = [q for q in dev if q not in missing]
    if adapter_cv:
        ad.cross_validate(index, [q for q in dev if q["answerable"]], log=click.echo)
        return
    if tune_model or tune_model_cv:
        _tune_model(index, [q for q in dev if q["answerable"]], tune_model_output,
                    tune_model_cv)
        return
    if adapter_:
        fitted_adapter = ad.fit_adapter(index, [q for q in dev if q["answerable"]])
        save_adapter(fitted_adapter, adapter_output or ADAPTER_PATH)
        click.echo(f"query adapter fitted on {fitted_adapter.info['questions']} dev questions; "
                   f"wrote {adapter_output or ADAPTER_PATH}")
    if sample:
        answerable = [q for q in dev if q["answerable"]]
        unanswerable = [q for q in dev if not q["answerable"]]
        share = len(unanswerable) / len(dev)
        n_un = max(5, round(sample * share))
        dev = answerable[: sample - n_un] + unanswerable[:n_un]
    click.echo(f"calibrating on {len(dev)} dev questions "
               f"({sum(q['answerable'] for q in dev)} answerable)")
    # with a query adapter, each question's evidence is searched with one fitted without it
    # (a --sample check skips that refit: it is about the answer models, not the adapter)
    if adapter_ or (index.adapter is not None and not sample):
        samples = ad.out_of_fold(index, dev, cal.collect)
        evidence = ("each question's evidence searched with a query adapter fitted on the other "
                    "folds of dev (eval/adapter.out_of_fold)")
    elif base_model(index.model_name) == TUNED_MODEL and not sample:
        # the same for a store of the tuned model: each question's evidence is searched with
        # a model tuned without it (two folds, each re-embedding a copy of the store)
        samples = tune.out_of_fold(index, dev, cal.collect, log=click.echo)
        evidence = ("each question's evidence searched with a model tuned on the other half of "
                    "dev (eval/tune.out_of_fold)")
    else:
        samples = cal.collect(index, dev)
        evidence = "each question's evidence searched with the store's model"
    fitted = cal.calibrate(samples, log=click.echo,
                           **({"repeats": repeats} if repeats else {}))
    fitted["model"] = base_model(index.model_name)  # the embedding model it is fitted for
    fitted["fit"]["evidence"] = evidence
    path = output or models_path(index.model_name, own=True)
    cal.write(fitted, path)
    click.echo("dev CV: " + ", ".join(f"{k} {v}" for k, v in fitted["dev_cv"].items()))
    click.echo(f"wrote {path}")


def _tune_model(index, answerable: list[dict], output: Path | None, cv_only: bool) -> None:
    from eval import tune
    from index.tuned import TUNED_MODEL, TUNING_PATH, save_tuning

    if cv_only:
        tune.cross_validate(index, answerable, log=click.echo)
        return
    triples = tune.training_triples(index, answerable)
    click.echo(f"tuning the model's biases on {len(triples)} triples from "
               f"{len(answerable)} answerable dev questions")
    deltas = tune.interpolated(tune.fit_biases(triples, log=click.echo))
    path = output or TUNING_PATH
    save_tuning(deltas, {"fitted_on": "dev", "questions": len(answerable),
                         "triples": len(triples), "epochs": tune.EPOCHS,
                         "learning_rate": tune.LEARNING_RATE,
                         "interpolation": tune.INTERPOLATION, "base": tune.BASE_MODEL}, path)
    click.echo(f"wrote {path}; a store uses it once embedded with `ombuds reindex --model "
               f"{TUNED_MODEL}`")


@click.command()
@click.option("--sizes", default=None,
              help="Synthetic collection sizes, comma-separated (empty: none; default "
                   "100000,1000000, and none with --milvus).")
@click.option("--milvus", "milvus_store", type=click.Path(file_okay=False, path_type=Path),
              help="Only the Milvus backend: migrate this built data dir into Milvus Lite and "
              "compare it with the embedded index (writes eval/bench_milvus.md and .json).")
@click.option("--aila", is_flag=True, help="Only AILA 2019 statute retrieval (long fact "
              "descriptions), through ombuds' own ingest and search; writes eval/aila.md.")
@click.option("--ocr-only", is_flag=True, help="Only OCR throughput (pages per second on the "
              "scanned letter of ../shared/pdfs); nothing written.")
@click.option("--only", type=click.Choice(["embed", "corpus", "synthetic"]),
              help="Only this part (its rows in eval/bench.md and .json are replaced, the others "
                   "kept): embed = the torch and onnx-int8 embedders on the passages of "
                   "--data-dir; corpus = ingest, queries, ask, provisions, reload and the naive "
                   "baseline on the corpus (no synthetic collections, no embedder comparison); "
                   "synthetic = the --sizes collections, made from --data-dir's vectors.")
@data_dir_option
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def bench(sizes: str, milvus_store: Path | None, aila: bool, ocr_only: bool, only: str | None,
          data_dir: Path | None, paths: tuple[str, ...]) -> None:
    """Benchmark ingest throughput, OCR throughput and query latency (p50/p95 per mode) on the
    corpus, on synthetic collections, and for the naive baseline; writes eval/bench.md and
    eval/bench.json.

    \b
    Examples:
      ombuds bench                      # corpus + ../shared/corpus, 100k and 1M synthetic
      ombuds bench --sizes 100000 corpus
      ombuds bench --milvus data        # the Milvus backend beside the embedded one
      ombuds bench --milvus data --sizes 200000   # and 200k synthetic passages on both
      ombuds bench --aila               # AILA 2019: MAP, nDCG@10, R@10 beside FIRE 2019
      ombuds bench --ocr-only
      ombuds bench --only embed         # embedder speed and agreement on data/'s passages
      ombuds bench --only corpus        # the corpus rows alone (minutes, not an hour)
      ombuds bench --only synthetic --sizes 1000000   # 1M passages with their sentence units
    """
    from eval import bench as b
    from eval import bench_embed, bench_scale
    from eval import run as ev

    if milvus_store:
        questions = ev.load_questions()
        results = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{os.cpu_count()} cores",
                   **b.bench_milvus(milvus_store, questions)}
        scale = [int(x) for x in (sizes or "").split(",") if x.strip()]
        if scale:  # the same synthetic collections on both backends, one after the other
            queries = [q["question"] for q in questions]
            results["synthetic"] = {
                backend: bench_scale.synthetic_rows(milvus_store, scale, queries, backend)
                for backend in ("embedded", "milvus")}
        text = b.render_milvus(results)
        (b.ROOT / "eval" / "bench_milvus.md").write_text("# Benchmark: Milvus backend\n\n" + text,
                                                         encoding="utf-8")
        (b.ROOT / "eval" / "bench_milvus.json").write_text(json.dumps(results, indent=1),
                                                           encoding="utf-8")
        click.echo(text)
        return
    sizes = "100000,1000000" if sizes is None else sizes
    if aila:
        from eval import aila as ai

        if not ai.AILA.exists():
            _fail(f"{ai.AILA}: the AILA 2019 benchmark is not there (see ../shared/bench)")
        results = ai.run()
        text = ai.render(results)
        ai.AILA_MD.write_text("# AILA 2019 statute retrieval\n\n" + text + "\n",
                              encoding="utf-8")
        ai.AILA_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
        click.echo(text)
        return
    if ocr_only:
        o = b.bench_ocr()
        if not o:
            _fail(f"no Tesseract or no {b.SCANNED}: nothing to measure")
        click.echo(b.ocr_row(o))
        return
    if only == "embed":
        results = json.loads(b.BENCH_JSON.read_text()) if b.BENCH_JSON.exists() else {}
        results["embedders"] = bench_embed.bench_embedders(data_dir)
        text = b.render(results) if "ingest" in results else bench_embed.render_embedders(
            results["embedders"])
        b.BENCH_MD.write_text("# Benchmark\n\n" + text, encoding="utf-8")
        b.BENCH_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
        click.echo(bench_embed.render_embedders(results["embedders"]))
        return

    paths = paths or (str(b.ROOT / "corpus"), str(b.ROOT.parent / "shared" / "corpus"))
    queries = [q["question"] for q in ev.load_questions()]
    if only == "synthetic":
        from index.store import default_data_dir

        store_dir = data_dir or default_data_dir()
        if not (store_dir / "ombuds.sqlite3").is_file():
            _fail(f"{store_dir}: no ombuds store there; the synthetic collections are made from "
                  "an ingested store's vectors: ombuds ingest corpus ../shared/corpus first")
        results = json.loads(b.BENCH_JSON.read_text()) if b.BENCH_JSON.exists() else {}
        results["unit_index_quality"] = bench_scale.unit_index_quality(store_dir)
        results["synthetic"] = bench_scale.synthetic_rows(
            store_dir, [int(x) for x in sizes.split(",") if x.strip()], queries)
        results["synthetic_date"] = time.strftime("%Y-%m-%d %H:%M")
        text = b.render(results) if "ingest" in results else ""
        if text:
            b.BENCH_MD.write_text("# Benchmark\n\n" + text, encoding="utf-8")
        b.BENCH_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
        click.echo(text or json.dumps(results["synthetic"], indent=1))
        return
    if only == "corpus":
        before = json.loads(b.BENCH_JSON.read_text()) if b.BENCH_JSON.exists() else {}
        results = b.run(list(paths), [], queries, embedders=False)
        for kept in ("embedders", "synthetic"):
            if before.get(kept):
                results[kept] = before[kept]
        if before.get("synthetic"):
            results["synthetic_date"] = before.get("synthetic_date") or before.get("date")
    else:
        results = b.run(list(paths), [int(x) for x in sizes.split(",") if x.strip()], queries)
    text = b.render(results)
    b.BENCH_MD.write_text("# Benchmark\n\n" + text, encoding="utf-8")
    b.BENCH_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
    click.echo(text)
