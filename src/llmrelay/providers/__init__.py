"""Pure translation between OpenAI's wire format and each upstream's: no sockets, env, clocks or globals."""
