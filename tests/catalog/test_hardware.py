"""Hardware presets: the reserve rule, the device list, and where each quantization figure comes from."""

import pytest

from slm_lib.catalog.hardware import DEVICES, QUANTS, RESERVE_RULE, custom_device, default_reserve_gb


@pytest.mark.parametrize(("memory", "reserve"), [(1, 1.5), (4, 1.5), (7.5, 1.5), (8, 1.6), (16, 3.2), (80, 16.0)])
def test_reserve_is_the_larger_of_1_5_gb_and_20_percent(memory, reserve):
    assert default_reserve_gb(memory) == pytest.approx(reserve)
    assert "1.5 GB" in RESERVE_RULE and "20%" in RESERVE_RULE


def test_laptop_presets_sit_beside_phone_and_pi():
    laptops = {d.memory_gb for d in DEVICES.values() if d.id.startswith("laptop-")}
    assert laptops == {8, 16, 32}
    assert {"pi5-8gb", "phone-8gb"} <= set(DEVICES)
    for device in DEVICES.values():
        assert device.bandwidth_gb_s and device.basis and device.source
    assert DEVICES["laptop-8gb"].bandwidth_gb_s == pytest.approx(3200 * 16 / 1000)  # DDR4-3200, two channels
    assert custom_device(8).bandwidth_gb_s is None


def test_perplexity_deltas_cite_quantize_cpp_and_bits_match_the_readme():
    for name in ("q8_0", "q6_K", "q5_K_M", "q4_K_M", "q4_0", "q2_K"):
        assert "tools/quantize/quantize.cpp" in QUANTS[name].source, name
    # bits/weight from llama.cpp's quantize README table for Llama 3.1 8B
    readme = {"q8_0": 8.5008, "q6_K": 6.5633, "q5_K_M": 5.7036, "q4_K_M": 4.8944, "q2_K": 3.1593}
    for name, bits in readme.items():
        assert QUANTS[name].bits_per_weight == pytest.approx(bits, abs=0.01)
    # q4_K_M is about 30% of fp16 (4.58 / 14.96 GiB), not a quarter
    assert "3.3x smaller" in QUANTS["q4_K_M"].plain and "quarter" not in QUANTS["q4_K_M"].plain
