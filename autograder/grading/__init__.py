"""The trusted side of grading: the files that decide a student's score.

Nothing in this package imports or runs student code in its own process. Student code runs only in the
sandboxed processes these modules start (`sandbox.py`); what comes back is compared as plain data.
"""
