"""The Status chat protocol on top of Waku: accounts and keys, sessions, chats, messages."""
