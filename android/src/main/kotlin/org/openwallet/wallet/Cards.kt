package org.openwallet.wallet

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.channelFlow
import org.openwallet.ffi.CardOpeningListener
import org.openwallet.ffi.CardOpeningProgress
import org.openwallet.ffi.SeCard
import org.openwallet.ffi.SeReaderKind
import org.openwallet.ffi.Wallet

/** What [openCardFlow] emits: progress reports, then the opened card. */
sealed interface CardOpeningUpdate {
    /** The opening progressed (percent never decreases). */
    data class Progress(val progress: CardOpeningProgress) : CardOpeningUpdate

    /** The card is open; always the last update. */
    data class Opened(val card: SeCard) : CardOpeningUpdate
}

/**
 * Air card opening ([Wallet.openCard]) as a cold [Flow]: every progress report, then
 * [CardOpeningUpdate.Opened]. A failure is thrown to the collector as the same
 * [org.openwallet.ffi.WalletFfiException]; cancelling the collection cancels the opening (running it
 * again later converges on one card).
 */
fun Wallet.openCardFlow(
    bindingId: String,
    preferred: SeReaderKind? = null,
    initialEcashLoadFen: ULong = 0u,
): Flow<CardOpeningUpdate> = channelFlow {
    // Reports come from library threads; the channel is unbounded so none is dropped.
    val listener = object : CardOpeningListener {
        override fun onProgress(progress: CardOpeningProgress) {
            trySend(CardOpeningUpdate.Progress(progress))
        }
    }
    val card = openCard(bindingId, preferred, initialEcashLoadFen, listener)
    send(CardOpeningUpdate.Opened(card))
}.buffer(Channel.UNLIMITED)

/**
 * Air card opening ([Wallet.openCard]) with a lambda for progress, called on library threads.
 * An exception thrown by [onProgress] is ignored by the library.
 */
suspend fun Wallet.openCard(
    bindingId: String,
    preferred: SeReaderKind? = null,
    initialEcashLoadFen: ULong = 0u,
    onProgress: (CardOpeningProgress) -> Unit,
): SeCard = openCard(bindingId, preferred, initialEcashLoadFen, LambdaOpeningListener(onProgress))

private class LambdaOpeningListener(private val block: (CardOpeningProgress) -> Unit) : CardOpeningListener {
    override fun onProgress(progress: CardOpeningProgress) = block(progress)
}
