"""The teacher data set: drawings sampled from imported decoders, all for training, marked as
synthetic, with the drawings that cannot be learnt from dropped and counted."""

from __future__ import annotations

import numpy as np

from lab.data import SPLIT_CODES, PreparedData
from lab.import_sketchrnn import main as import_main
from lab.teacher import PROG, main
from model import cli
from tests.test_import_sketchrnn import write_gen_json


def test_a_teacher_set_is_training_data_marked_as_synthetic(tmp_path) -> None:
    files = [
        write_gen_json(tmp_path / "bird.gen.json", "bird", 60.0, seed=1),
        write_gen_json(tmp_path / "palm_tree.gen.json", "palm_tree", 90.0, seed=2),
    ]
    import_main([*map(str, files), "--out", str(tmp_path / "teachers")])
    out = tmp_path / "teacher.npz"
    main(["--checkpoint", str(tmp_path / "teachers"), "--per-category", "12", "--out", str(out),
          "--temperature", "0.3", "--quiet"])  # fmt: skip
    data = PreparedData.load(out)
    counts = data.meta["counts"]
    assert counts["read"] == 24
    assert (
        counts["kept"]
        == len(data)
        == 24 - sum(v for k, v in counts.items() if k.startswith("dropped_"))
    )
    assert (data.split == SPLIT_CODES["train"]).all()  # held-out drawings stay real
    assert set(data.vocab.values["category"]) <= {"bird", "palm tree"}
    for source in data.meta["sources"]:
        assert source["synthetic"] is True and source["kind"] == "teacher"
        assert source["temperature"] == 0.3 and "Quick, Draw!" in source["licence"]
    lengths = np.diff(data.offsets)
    assert lengths.min() >= 2 and lengths.max() < 250
    # The same seed draws the same set; categories draw from their own streams.
    main(["--checkpoint", str(tmp_path / "teachers"), "--per-category", "12", "--out",
          str(tmp_path / "again.npz"), "--temperature", "0.3", "--category", "palm tree",
          "--quiet"])  # fmt: skip
    again = PreparedData.load(tmp_path / "again.npz")
    palm = data.vocab.values["category"].index("palm tree")
    mine = [data.sketch(int(i)).tolist() for i in np.flatnonzero(data.labels[:, 0] == palm)]
    assert mine == [again.sketch(i).tolist() for i in range(len(again))]


def test_an_unknown_category_is_refused_in_one_line(tmp_path, capsys) -> None:
    write_gen_json(tmp_path / "bird.gen.json", "bird", 60.0)
    import_main([str(tmp_path / "bird.gen.json"), "--out", str(tmp_path / "t")])
    status = cli.run(main, PROG, ["--checkpoint", str(tmp_path / "t"), "--category", "cat",
                                  "--out", str(tmp_path / "x.npz")])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and "--category 'cat': the teacher draws bird" in err
    assert not (tmp_path / "x.npz").exists()
