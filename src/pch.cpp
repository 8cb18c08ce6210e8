// Anchors the precompiled header target.
int onda_pch_anchor = 0;
