"""Problem generation and grading (as in the task-router tool), both routed by the task-type table."""

from podium.workflows.problems.generate import ProblemGenerator, ProblemSet
from podium.workflows.problems.grade import AnswerGrader, AnswerItem, GradeReport, read_answers
from podium.workflows.problems.prompts import GENERATION_TASK_TYPE, GRADING_TASK_TYPE

__all__ = [
    "GENERATION_TASK_TYPE",
    "GRADING_TASK_TYPE",
    "AnswerGrader",
    "AnswerItem",
    "GradeReport",
    "ProblemGenerator",
    "ProblemSet",
    "read_answers",
]
