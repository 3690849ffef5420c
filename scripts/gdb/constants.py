"""The kernel's constants, as its headers define them.

make writes build/<arch>/weft_constants.py from weft_constants.py.in with
the C preprocessor (that file says how): one line `NAME = (value)` per
constant, the value being C integer arithmetic on numbers, such as

    KSTACK_SIZE = ((16 * 1024ull))

load() reads such a file without running it: each value loses C's integer
suffixes (u, l, ull, ...) and is evaluated only if it is made of numbers
and arithmetic operators. Plain Python, without gdb: the GDB scripts and
scripts/gdbtests.py both use it.
"""

import ast
import operator
import os
import re
from types import SimpleNamespace

FILENAME = "weft_constants.py"

LINE = re.compile(r"([A-Z_][A-Z0-9_]*) = (.+)")
C_SUFFIX = re.compile(r"\b(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]+\b")
BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.LShift: operator.lshift, ast.RShift: operator.rshift,
          ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}


def evaluate(text):
    """The value of a C integer expression made of numbers only."""
    def value(node):
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            return BINARY[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
            return UNARY[type(node.op)](value(node.operand))
        raise ValueError(f"not integer arithmetic: {ast.unparse(node)}")
    return value(ast.parse(C_SUFFIX.sub(r"\1", text), mode="eval").body)


def load(build_dir):
    """The constants of the kernel built in build_dir, as attributes:
    those of weft_constants.py, and a few that follow from them."""
    path = os.path.join(build_dir, FILENAME)
    values = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = LINE.fullmatch(line)
            try:
                if not m:
                    raise ValueError(f"not NAME = value: {line!r}")
                values[m.group(1)] = evaluate(m.group(2))
            except (SyntaxError, ValueError) as e:
                raise ValueError(f"{path}:{number}: {e}") from None
    c = SimpleNamespace(**values)
    # An address splits into the offset in its page, then one table index
    # per level; the direct map ends where the kernel stacks' area begins.
    c.PAGE_SHIFT = c.PAGE_SIZE.bit_length() - 1
    c.PT_INDEX_BITS = c.PT_ENTRIES.bit_length() - 1
    c.DIRECT_MAP_SIZE = c.KSTACK_AREA - c.KERNEL_VA_OFFSET
    return c
