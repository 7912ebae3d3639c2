import pytest

from loadtest import shapes as s


def test_steady_is_constant_then_ends() -> None:
    shape = s.SteadyShape(50, 10)
    assert [shape.rate_at(t) for t in (0, 5, 9.99)] == [50, 50, 50]
    assert shape.rate_at(10) is None


def test_peak_has_baseline_spike_baseline() -> None:
    shape = s.PeakShape(20, 5, spike_start_s=30, spike_s=30, duration_s=90)
    assert shape.rate_at(10) == 20
    assert shape.rate_at(45) == 100
    assert shape.rate_at(75) == 20
    assert shape.rate_at(90) is None
    assert shape.spike() == (30, 60)


def test_scaling_keeps_proportions() -> None:
    shape = s.PeakShape(20, 5, spike_start_s=30, spike_s=30, duration_s=90).scaled(9)
    assert shape.duration_s == pytest.approx(9)
    assert shape.spike() == pytest.approx((3, 6))
    assert shape.rate_at(4.5) == 100


def test_step_ramps_up() -> None:
    shape = s.StepShape.ramp(start=10, step=10, steps=3, step_s=5)
    assert [shape.rate_at(t) for t in (0, 5, 10, 14.9)] == [10, 20, 30, 30]
    assert shape.rate_at(15) is None
    ramped = s.StepShape((s.Stage(10, 0), s.Stage(10, 100, ramp=True)))
    assert ramped.rate_at(15) == pytest.approx(50)


def test_variable_follows_a_day_with_bounded_noise() -> None:
    shape = s.VariableShape(100, 100, amplitude=0.5, noise=0.1, noise_step_s=5, seed=3)
    night, noon = shape.rate_at(0), shape.rate_at(50)
    assert night is not None
    assert noon is not None
    assert 45 <= night <= 55  # trough: mean * (1 - amplitude), +-10 %
    assert 135 <= noon <= 165  # noon: mean * (1 + amplitude), +-10 %
    rates = [shape.rate_at(t / 2) for t in range(200)]
    assert len({round(r or 0, 3) for r in rates}) > 100  # noisy, not a pure cosine
    assert shape.rate_at(100) is None


def test_build_shape_validates() -> None:
    assert isinstance(s.build_shape({"kind": "steady", "rate": 1, "duration_s": 2}), s.SteadyShape)
    with pytest.raises(ValueError, match="unknown shape kind"):
        s.build_shape({"kind": "sawtooth"})
    with pytest.raises(ValueError, match="needs 'rate'"):
        s.build_shape({"kind": "steady", "duration_s": 2})
    with pytest.raises(ValueError, match="spike"):
        s.PeakShape(10, 2, spike_start_s=50, spike_s=60, duration_s=90)
