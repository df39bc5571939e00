"""Each effect and actor in the library changes what it should, the way it looks to a frame
differencer: compared with the same scene, same seed, without it."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from doorbell.device.emulation.scenarios import Scenario, load_scenario


def without(name: str, what: str) -> tuple[Scenario, Scenario]:
    """The scenario, and the same one (same seed, so the same noise) without its effects or
    actors."""
    full, bare = load_scenario(name), load_scenario(name)
    bare.scene = bare.scene.model_copy(update={what: []})
    return full, bare


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)


def at(s: Scenario, seconds: float) -> np.ndarray:
    return s.render(round(seconds * s.fps))[0]


def test_camera_shake_shifts_the_whole_frame_by_one_to_three_pixels() -> None:
    full, bare = without("camera_shake", "effects")
    shifts = []
    for seconds in np.arange(6.0, 19.0, 0.5):
        (dx, dy), _ = cv2.phaseCorrelate(grey(at(bare, seconds)), grey(at(full, seconds)))
        shifts.append(np.hypot(dx, dy))
    assert min(shifts) >= 0.7 and max(shifts) <= 3.2
    assert np.array_equal(at(full, 22.0), at(bare, 22.0))  # still again after it


def test_the_bush_sways_and_nothing_else_moves() -> None:
    full, bare = without("bush", "effects")
    bush = full.bush
    changed = np.zeros((full.height, full.width), bool)
    for seconds in (0.4, 1.2, 2.0):
        changed |= (at(full, seconds) != at(bare, seconds)).any(axis=2)
    inside = changed[bush.y : bush.y + bush.h, bush.x : bush.x + bush.w]
    assert inside.mean() > 0.2
    assert changed.sum() == inside.sum()


def test_leaves_fill_most_of_the_frame_and_sway_non_rigidly_against_a_white_sky() -> None:
    full = load_scenario("foliage")
    bare = load_scenario("foliage")
    bare.scene = bare.scene.model_copy(
        update={"effects": [e for e in full.scene.effects if e.kind == "leaves"]}
    )
    first, later = grey(at(bare, 1.0)), grey(at(bare, 1.4))
    moved = np.abs(later - first) > 20
    assert moved.mean() > 0.3  # fine texture moving all over, not one patch
    assert (first >= 245).mean() > 0.05  # the sky through the leaves is burnt out
    # Non-rigid: the left and the right of the canopy move by different amounts.
    (left, _), _ = cv2.phaseCorrelate(first[:, :200], later[:, :200])
    (right, _), _ = cv2.phaseCorrelate(first[:, -200:], later[:, -200:])
    top = cv2.phaseCorrelate(first[:150], later[:150])[0][0]
    assert max(abs(left - right), abs(left - top), abs(right - top)) > 0.5


def test_jitter_shifts_every_frame_a_little_and_compression_leaves_8x8_blocks() -> None:
    full, bare = without("shake_visitor", "effects")
    window = cv2.createHanningWindow((full.width, full.height), cv2.CV_32F)
    found = [
        cv2.phaseCorrelate(grey(at(bare, s)), grey(at(full, s)), window)
        for s in np.arange(4.0, 6.0, 0.2)
    ]
    # (a weak peak is phase correlation failing on a repetitive porch, not a measurement)
    shifts = [np.hypot(*shift) for shift, response in found if response > 0.5]
    assert len(shifts) >= 7 and max(shifts) <= 2.2 and np.median(shifts) > 0.3
    jpeg, plain = without("low_light_visit", "effects")
    plain.scene = plain.scene.model_copy(
        update={"effects": [e for e in jpeg.scene.effects if e.kind != "compression"]}
    )
    error = np.abs(grey(at(jpeg, 2.0)) - grey(at(plain, 2.0)))
    assert 0.2 < error.mean() < 6.0
    # the error jumps at block borders more than inside them
    across = np.abs(np.diff(error, axis=1))
    assert across[:, 7::8].mean() > across[:, 3::8].mean()


def test_headlights_brighten_a_soft_cone_sweeping_across_the_street() -> None:
    full, bare = without("headlights", "effects")
    street = slice(int(0.2 * full.height), int(0.32 * full.height))
    centres = []
    for seconds in (5.5, 7.0, 8.5):
        gain = (grey(at(full, seconds)) + 1) / (grey(at(bare, seconds)) + 1)
        columns = cv2.blur(gain[street], (9, 9)).mean(axis=0)
        assert columns.max() > 1.6  # bright in the cone
        assert columns.min() < 1.15  # and not everywhere: a cone, not a light step
        centres.append(int(np.argmax(columns)))
        assert gain[street].mean() > gain[-40:].mean()  # the street more than the porch floor
    assert centres == sorted(centres) and centres[-1] - centres[0] > full.width // 4


def test_an_insect_at_the_lens_is_a_dark_blurry_blob_moving_erratically() -> None:
    full, bare = without("insect", "actors")
    seq = round(10 * full.fps)
    (moth,) = full.truth.frames[seq].actors
    darker = grey(bare.render(seq)[0]) - grey(full.render(seq)[0])
    assert darker.max() > 20 and darker.min() > -3  # it only darkens
    smooth = cv2.GaussianBlur(darker, (0, 0), 2)
    steepest = max(np.abs(np.diff(smooth, axis=0)).max(), np.abs(np.diff(smooth, axis=1)).max())
    assert steepest < 0.15 * smooth.max()  # out of focus: no sharp edge anywhere
    _x, _y, w, h = moth.box
    assert 0.02 < w * h < 0.15  # near the lens: big for an insect, small in the frame
    centres = np.array(
        [
            (f.actors[0].box[0] + f.actors[0].box[2] / 2, f.actors[0].box[1])
            for f in full.truth.frames[seq : seq + 30]
        ]
    )
    turns = np.sign(np.diff(centres[:, 0]))
    assert (turns[1:] != turns[:-1]).sum() >= 2  # flits back and forth within two seconds


def test_a_light_step_is_a_global_gain_and_goes_off_again() -> None:
    s = load_scenario("porch_light")
    off, on, after = grey(at(s, 9.0)), grey(at(s, 11.0)), grey(at(s, 21.0))
    ratio = (on + 1) / (off + 1)
    unsaturated = on < 250
    assert abs(np.median(ratio[unsaturated]) - 1.7) < 0.1
    assert np.percentile(ratio[unsaturated], 10) > 1.45  # everywhere, not in one spot
    assert abs(after.mean() - off.mean()) < 1.0


def test_dusk_darkens_slowly_and_the_dark_is_noisier() -> None:
    s = load_scenario("dusk")
    means = [grey(at(s, seconds)).mean() for seconds in range(0, 30, 3)]
    assert all(b <= a + 0.5 for a, b in itertools.pairwise(means))
    assert means[-1] < 0.45 * means[0]
    step = max(abs(b - a) for a, b in itertools.pairwise(means))
    assert step < 0.15 * means[0]  # a ramp, not a step

    def frame_to_frame_noise(seconds: float) -> float:
        a, b = grey(at(s, seconds)), grey(s.render(round(seconds * s.fps) + 1)[0])
        return float(np.std(a - b))

    noise = [frame_to_frame_noise(seconds) for seconds in (0.5, 8.0, 14.0, 20.0, 26.0, 29.0)]
    assert noise == sorted(noise) and noise[-1] > 2.0 * noise[0]
    assert max(b / a for a, b in itertools.pairwise(noise)) < 1.4  # it rises gradually


def test_a_cloud_shadow_darkens_part_of_the_frame_at_a_time() -> None:
    full, bare = without("cloud_shadow", "effects")
    gain = (grey(at(full, 5.0)) + 1) / (grey(at(bare, 5.0)) + 1)
    columns = gain.mean(axis=0)
    assert columns.min() < 0.7 and columns.max() > 0.97


def test_rain_and_snow_add_small_bright_marks_and_the_ir_night_is_grey() -> None:
    for name, longest in (("rain", 20), ("snow", 4)):
        full, bare = without(name, "effects")
        marks = (grey(at(full, 3.0)) - grey(at(bare, 3.0))) > 50
        count, _, stats, _ = cv2.connectedComponentsWithStats(marks.astype(np.uint8))
        assert count > 40, name
        assert np.median(stats[1:, cv2.CC_STAT_HEIGHT]) <= longest, name
        assert np.median(stats[1:, cv2.CC_STAT_WIDTH]) <= 4, name
    night = at(load_scenario("night_visitor"), 14.0)
    assert np.abs(night[..., 0].astype(int) - night[..., 2].astype(int)).max() <= 1


def test_auto_exposure_hunts_up_and_down() -> None:
    s = load_scenario("auto_exposure")
    means = np.array([grey(at(s, seconds / 2)).mean() for seconds in range(0, 24)])
    assert means.max() > 1.1 * means[0] and means.min() < 0.9 * means[0]


def test_the_parcel_stays_and_the_close_up_fills_the_frame() -> None:
    package = load_scenario("package_drop")
    last = package.truth.frames[-1]
    assert [a.name for a in last.actors] == ["parcel"]
    full, bare = without("package_drop", "actors")
    assert np.abs(grey(at(full, 34.0)) - grey(at(bare, 34.0))).max() > 50
    close = load_scenario("close_up")
    biggest = max(a.box[2] * a.box[3] for f in close.truth.frames for a in f.actors)
    assert biggest > 0.6


def test_snowflakes_drift_down_from_frame_to_frame_and_rain_does_not_persist() -> None:
    def centres(full: Scenario, bare: Scenario, seq: int) -> np.ndarray:
        marks = (grey(full.render(seq)[0]) - grey(bare.render(seq)[0])) > 50
        _, _, _, found = cv2.connectedComponentsWithStats(marks.astype(np.uint8))
        return found[1:]

    def nearest_moves(name: str) -> np.ndarray:
        full, bare = without(name, "effects")
        now, then = centres(full, bare, 45), centres(full, bare, 46)
        gaps = then[None, :, :] - now[:, None, :]
        closest = np.argmin(np.hypot(gaps[..., 0], gaps[..., 1]), axis=1)
        return gaps[np.arange(len(now)), closest]

    snow = nearest_moves("snow")
    distance = np.hypot(snow[:, 0], snow[:, 1])
    assert np.median(distance) < 6 and np.median(snow[:, 1]) > 0.5  # the same flakes, lower
    rain = nearest_moves("rain")
    assert np.median(np.hypot(rain[:, 0], rain[:, 1])) > 10  # streaks are new every frame


def test_a_pan_moves_the_view_steadily_and_it_stays_where_it_got_to() -> None:
    full, bare = without("slow_pan", "effects")
    # 3 px/s from 4 s to 12 s (640 px wide): none before, 1.5 px at 4.5 s, 24 px from 12 s on
    for seconds, expected in ((3.0, 0.0), (4.5, 1.5), (8.0, 12.0), (14.0, 24.0), (20.0, 24.0)):
        (dx, dy), _ = cv2.phaseCorrelate(grey(at(bare, seconds)), grey(at(full, seconds)))
        assert abs(dx - expected) <= 0.5 and abs(dy) <= 0.5, (seconds, dx, dy)
