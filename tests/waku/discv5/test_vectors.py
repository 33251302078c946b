"""discv5 v5.1 against the published vectors (devp2p discv5/discv5-wire-test-vectors.md)."""

from __future__ import annotations

import coincurve

from pystatus.waku.discv5 import crypto, packet
from pystatus.waku.discv5.messages import Ping, decode_message, encode_message
from pystatus.waku.discv5.packet import HandshakeAuth, MessageAuth, WhoareyouAuth
from pystatus.waku.enr import Enr

NODE_A_KEY = bytes.fromhex("eef77acb6c6a6eebc5b363a475ac583ec7eccdb42b6481424c60f59aa326547f")
NODE_B_KEY = bytes.fromhex("66fb62bfbd66b9177a138c1e5cddbe4f7c30c343e94e68df8769459cb1cde628")
NODE_A_ID = bytes.fromhex("aaaa8419e9f49d0083561b48287df592939a8d19947d8c0ef88f2a4856a69fbb")
NODE_B_ID = bytes.fromhex("bbbb9d047f0488c0b5a93c1c3f2d8bafc7c8ff337024a55434a0d0555de64db9")
CHALLENGE_0 = bytes.fromhex(
    "000000000000000000000000000000006469736376350001010102030405060708090a0b0c00180102030405"
    "060708090a0b0c0d0e0f100000000000000000"
)
CHALLENGE_1 = CHALLENGE_0[:-1] + b"\x01"
EPHEMERAL_KEY = bytes.fromhex("0288ef00023598499cb6c940146d050d2b1fb914198c327f76aad590bead68b6")
EPHEMERAL_PUB = bytes.fromhex("039a003ba6517b473fa0cd74aefe99dadfdb34627f90fec6362df85803908f53a5")

PING_PACKET = bytes.fromhex(
    "00000000000000000000000000000000088b3d4342774649325f313964a39e55"
    "ea96c005ad52be8c7560413a7008f16c9e6d2f43bbea8814a546b7409ce783d3"
    "4c4f53245d08dab84102ed931f66d1492acb308fa1c6715b9d139b81acbdcc"
)
WHOAREYOU_PACKET = bytes.fromhex(
    "00000000000000000000000000000000088b3d434277464933a1ccc59f5967ad"
    "1d6035f15e528627dde75cd68292f9e6c27d6b66c8100a873fcbaed4e16b8d"
)
HANDSHAKE_PACKET = bytes.fromhex(
    "00000000000000000000000000000000088b3d4342774649305f313964a39e55"
    "ea96c005ad521d8c7560413a7008f16c9e6d2f43bbea8814a546b7409ce783d3"
    "4c4f53245d08da4bb252012b2cba3f4f374a90a75cff91f142fa9be3e0a5f3ef"
    "268ccb9065aeecfd67a999e7fdc137e062b2ec4a0eb92947f0d9a74bfbf44dfb"
    "a776b21301f8b65efd5796706adff216ab862a9186875f9494150c4ae06fa4d1"
    "f0396c93f215fa4ef524f1eadf5f0f4126b79336671cbcf7a885b1f8bd2a5d83"
    "9cf8"
)
HANDSHAKE_ENR_PACKET = bytes.fromhex(
    "00000000000000000000000000000000088b3d4342774649305f313964a39e55"
    "ea96c005ad539c8c7560413a7008f16c9e6d2f43bbea8814a546b7409ce783d3"
    "4c4f53245d08da4bb23698868350aaad22e3ab8dd034f548a1c43cd246be9856"
    "2fafa0a1fa86d8e7a3b95ae78cc2b988ded6a5b59eb83ad58097252188b902b2"
    "1481e30e5e285f19735796706adff216ab862a9186875f9494150c4ae06fa4d1"
    "f0396c93f215fa4ef524e0ed04c3c21e39b1868e1ca8105e585ec17315e755e6"
    "cfc4dd6cb7fd8e1a1f55e49b4b5eb024221482105346f3c82b15fdaae36a3bb1"
    "2a494683b4a3c7f2ae41306252fed84785e2bbff3b022812d0882f06978df84a"
    "80d443972213342d04b9048fc3b1d5fcb1df0f822152eced6da4d3f6df27e70e"
    "4539717307a0208cd208d65093ccab5aa596a34d7511401987662d8cf62b1394"
    "71"
)
ZERO_IV = bytes(16)
FF_NONCE = bytes.fromhex("ffffffffffffffffffffffff")


def _pub(secret: bytes) -> bytes:
    return bytes(coincurve.PrivateKey(secret).public_key.format(compressed=True))


def test_node_ids_of_the_vector_keys() -> None:
    assert crypto.node_id_of_key(_pub(NODE_A_KEY)) == NODE_A_ID
    assert crypto.node_id_of_key(_pub(NODE_B_KEY)) == NODE_B_ID


def test_ping_message_packet_decodes_and_encodes() -> None:
    decoded = packet.decode_packet(PING_PACKET, NODE_B_ID)
    assert decoded.flag == packet.FLAG_MESSAGE
    assert decoded.auth == MessageAuth(NODE_A_ID)
    assert decoded.nonce == FF_NONCE
    plaintext = packet.open_message(decoded, bytes(16))
    assert decode_message(plaintext) == Ping(bytes.fromhex("00000001"), 2)
    encoded = packet.encode_message(
        dest_id=NODE_B_ID,
        src_id=NODE_A_ID,
        masking_iv=ZERO_IV,
        nonce=FF_NONCE,
        key=bytes(16),
        plaintext=encode_message(Ping(bytes.fromhex("00000001"), 2)),
    )
    assert encoded == PING_PACKET


def test_whoareyou_packet_decodes_and_encodes() -> None:
    decoded = packet.decode_packet(WHOAREYOU_PACKET, NODE_B_ID)
    assert decoded.flag == packet.FLAG_WHOAREYOU
    assert decoded.nonce == bytes.fromhex("0102030405060708090a0b0c")
    assert decoded.auth == WhoareyouAuth(bytes.fromhex("0102030405060708090a0b0c0d0e0f10"), 0)
    assert decoded.message_ad == CHALLENGE_0
    encoded, challenge = packet.encode_whoareyou(
        dest_id=NODE_B_ID,
        masking_iv=ZERO_IV,
        nonce=bytes.fromhex("0102030405060708090a0b0c"),
        id_nonce=bytes.fromhex("0102030405060708090a0b0c0d0e0f10"),
        enr_seq=0,
    )
    assert encoded == WHOAREYOU_PACKET
    assert challenge == CHALLENGE_0


def _check_handshake(raw: bytes, challenge: bytes, read_key: bytes, with_record: bool) -> None:
    decoded = packet.decode_packet(raw, NODE_B_ID)
    assert decoded.flag == packet.FLAG_HANDSHAKE
    auth = decoded.auth
    assert isinstance(auth, HandshakeAuth)
    assert auth.src_id == NODE_A_ID
    assert auth.ephemeral_pubkey == EPHEMERAL_PUB
    # B's side: the session keys from its static key and A's ephemeral key.
    secret = crypto.ecdh(auth.ephemeral_pubkey, NODE_B_KEY)
    initiator_key, _ = crypto.derive_keys(secret, NODE_A_ID, NODE_B_ID, challenge)
    assert initiator_key == read_key
    assert crypto.id_verify(
        _pub(NODE_A_KEY), auth.id_signature, challenge, auth.ephemeral_pubkey, NODE_B_ID
    )
    assert decode_message(packet.open_message(decoded, read_key)) == Ping(b"\x00\x00\x00\x01", 1)
    if with_record:
        assert auth.record is not None
        record = Enr.from_bytes(auth.record)
        assert crypto.node_id(record) == NODE_A_ID
    else:
        assert auth.record is None
    # A's side builds the same bytes from the same inputs.
    assert crypto.ecdh(_pub(NODE_B_KEY), EPHEMERAL_KEY) == secret
    encoded = packet.encode_handshake(
        dest_id=NODE_B_ID,
        src_id=NODE_A_ID,
        masking_iv=ZERO_IV,
        nonce=FF_NONCE,
        key=read_key,
        plaintext=encode_message(Ping(b"\x00\x00\x00\x01", 1)),
        id_signature=crypto.id_sign(NODE_A_KEY, challenge, EPHEMERAL_PUB, NODE_B_ID),
        ephemeral_pubkey=EPHEMERAL_PUB,
        record=auth.record,
    )
    assert encoded == raw


def test_ping_handshake_packet() -> None:
    key = bytes.fromhex("4f9fac6de7567d1e3b1241dffe90f662")
    _check_handshake(HANDSHAKE_PACKET, CHALLENGE_1, key, with_record=False)


def test_ping_handshake_packet_with_enr() -> None:
    key = bytes.fromhex("53b1c075f41876423154e157470c2f48")
    _check_handshake(HANDSHAKE_ENR_PACKET, CHALLENGE_0, key, with_record=True)


def test_ecdh_vector() -> None:
    public = bytes.fromhex("039961e4c2356d61bedb83052c115d311acb3a96f5777296dcf297351130266231")
    secret = bytes.fromhex("fb757dc581730490a1d7a00deea65e9b1936924caaea8f44d476014856b68736")
    assert crypto.ecdh(public, secret) == bytes.fromhex(
        "033b11a2a1f214567e1537ce5e509ffd9b21373247f2a3ff6841f4976f53165e7e"
    )


def test_key_derivation_vector() -> None:
    ephemeral = bytes.fromhex("fb757dc581730490a1d7a00deea65e9b1936924caaea8f44d476014856b68736")
    dest = bytes.fromhex("0317931e6e0840220642f230037d285d122bc59063221ef3226b1f403ddc69ca91")
    secret = crypto.ecdh(dest, ephemeral)
    assert crypto.derive_keys(secret, NODE_A_ID, NODE_B_ID, CHALLENGE_0) == (
        bytes.fromhex("dccc82d81bd610f4f76d3ebe97a40571"),
        bytes.fromhex("ac74bb8773749920b0d3a8881c173ec5"),
    )


def test_id_nonce_signing_vector() -> None:
    static = bytes.fromhex("fb757dc581730490a1d7a00deea65e9b1936924caaea8f44d476014856b68736")
    ephemeral_pub = bytes.fromhex(
        "039961e4c2356d61bedb83052c115d311acb3a96f5777296dcf297351130266231"
    )
    expected = bytes.fromhex(
        "94852a1e2318c4e5e9d422c98eaf19d1d90d876b29cd06ca7cb7546d0fff7b48"
        "4fe86c09a064fe72bdbef73ba8e9c34df0cd2b53e9d65528c2c7f336d5dfc6e6"
    )
    assert crypto.id_sign(static, CHALLENGE_0, ephemeral_pub, NODE_B_ID) == expected
    assert crypto.id_verify(_pub(static), expected, CHALLENGE_0, ephemeral_pub, NODE_B_ID)
    forged = expected[:-1] + bytes([expected[-1] ^ 1])
    assert not crypto.id_verify(_pub(static), forged, CHALLENGE_0, ephemeral_pub, NODE_B_ID)


def test_aes_gcm_vector() -> None:
    key = bytes.fromhex("9f2d77db7004bf8a1a85107ac686990b")
    nonce = bytes.fromhex("27b5af763c446acd2749fe8e")
    ad = bytes.fromhex("93a7400fa0d6a694ebc24d5cf570f65d04215b6ac00757875e3f3a5f42107903")
    sealed = bytes.fromhex("a5d12a2d94b8ccb3ba55558229867dc13bfa3648")
    assert crypto.aes_gcm_encrypt(key, nonce, bytes.fromhex("01c20101"), ad) == sealed
    assert crypto.aes_gcm_decrypt(key, nonce, sealed, ad) == bytes.fromhex("01c20101")
