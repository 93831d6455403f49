"""The rules: pure functions over DataFrames, numbers handed in from the programme's preset."""
