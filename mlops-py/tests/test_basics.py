import pytest

import mlops


def test_version_matches_the_rust_crate():
    assert mlops.__version__ == mlops.version()
    assert mlops.version().count(".") == 2


def test_model_refs_parse_like_the_rust_api():
    assert mlops.parse_model_ref("churn@3") == ("churn", "version", "3")
    assert mlops.parse_model_ref("churn@champion") == ("churn", "alias", "champion")
    assert mlops.parse_model_ref("models:/churn/7") == ("churn", "version", "7")


@pytest.mark.parametrize("bad", ["churn", "churn@0", "@x", "churn@bad alias!"])
def test_bad_model_refs_raise_value_error_naming_the_input(bad):
    with pytest.raises(ValueError) as e:
        mlops.parse_model_ref(bad)
    assert "invalid" in str(e.value)
    assert isinstance(e.value, mlops.ValidationError)
