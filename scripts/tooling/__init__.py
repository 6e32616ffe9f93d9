"""The modules behind the thin command lines in scripts/ (localstack.py, images.py, plan_report.py):
one concern each. The README's "Tour of the folders" names the home of every concern."""
