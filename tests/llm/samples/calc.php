<?php
// A small program for the LLM path: main -> twice -> add.
function add($a, $b)
{
    $s = $a + $b;
    return $s;
}

function twice($x)
{
    if ($x > 10) {
        return $x;
    }
    return add($x, $x);
}

function main()
{
    echo twice(3), "\n";
}

main();
