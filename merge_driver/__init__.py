"""`ankiops-merge %O %A %B %P`: git merge driver for deck files."""
