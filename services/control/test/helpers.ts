/** Two syscall rules with tags, and a third in a second file. */
export const GOOD_RULES = `- list: shells
  items: [bash, sh]

- rule: Shell spawned
  desc: a shell started
  condition: evt.type = execve and proc.name in (shells)
  output: "shell %proc.name (user=%user.name)"
  priority: WARNING
  tags: [process, shell]

- rule: Open etc
  desc: a file below /etc was opened
  condition: evt.type = openat and fd.name startswith /etc
  output: "open %fd.name"
  priority: ERROR
  tags: [filesystem]
`;

export const MORE_RULES = `- rule: Shell in container
  desc: a shell in a container
  condition: evt.type = execve and container.id != host and proc.name = bash
  output: "container shell %container.id"
  priority: NOTICE
  tags: [process, container]
`;

/** A condition with a syntax error on line 4, column 36 (the second `=`). */
export const BROKEN_RULES = `- rule: Broken
  desc: does not compile
  priority: WARNING
  condition: evt.type = execve and = bash
  output: "broken"
`;
