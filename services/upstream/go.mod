module concbench/services/upstream

go 1.26
