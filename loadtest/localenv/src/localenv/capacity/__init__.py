"""``python -m localenv capacity``: one worker's knee, the limit that bound it, HPA advice."""
