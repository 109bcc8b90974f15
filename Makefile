.PHONY: test lint bench demo

test:
	pytest

lint:
	ruff check src tests bench
	mypy

bench:
	python bench/core.py

demo:
	labtrack demo
